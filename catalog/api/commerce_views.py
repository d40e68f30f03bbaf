"""Carts and orders API: thin views over catalog.commerce_services / commerce_selectors.
Writes need the agent role; order and checkout creation honour Idempotency-Key."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import commerce_selectors as selectors
from catalog import commerce_services as services
from catalog.api import commerce_serializers as s
from catalog.models import CartItem
from catalog.models.commerce import OrderSource
from kaleem.core.errors import NotFoundError
from kaleem.core.pagination import paginated_response
from kaleem.idempotency import idempotent
from kaleem.tenancy.api import TenantAPIView
from kaleem.tenancy.roles import Role


class _CommerceView(TenantAPIView):
    read_role = Role.VIEWER
    write_role = Role.AGENT

    def actor(self) -> str:
        return f"user:{self.request.user.pk}"


class CartListView(_CommerceView):
    @extend_schema(responses={200: s.CartOutput(many=True)}, tags=["commerce"])
    def get(self, request: Request) -> Response:
        qs = selectors.cart_list(merchant=self.merchant)
        return paginated_response(view=self, request=request, queryset=qs, serializer_class=s.CartOutput)

    @extend_schema(request=s.CartInput, responses={201: s.CartOutput}, tags=["commerce"])
    @idempotent()
    def post(self, request: Request) -> Response:
        data = s.CartInput(data=request.data)
        data.is_valid(raise_exception=True)
        cart = services.cart_open(merchant=self.merchant, **data.validated_data)
        return Response(s.CartOutput(cart).data, status=status.HTTP_201_CREATED)


class CartDetailView(_CommerceView):
    @extend_schema(responses={200: s.CartOutput}, tags=["commerce"])
    def get(self, request: Request, cart_id: str) -> Response:
        return Response(s.CartOutput(selectors.cart_get(merchant=self.merchant, cart_id=cart_id)).data)


class CartItemsView(_CommerceView):
    @extend_schema(request=s.CartItemInput, responses={201: s.CartOutput}, tags=["commerce"])
    def post(self, request: Request, cart_id: str) -> Response:
        cart = selectors.cart_get(merchant=self.merchant, cart_id=cart_id)
        data = s.CartItemInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.cart_add_item(merchant=self.merchant, cart=cart, **data.validated_data)
        return Response(s.CartOutput(cart).data, status=status.HTTP_201_CREATED)


class CartItemDetailView(_CommerceView):
    def _item(self, item_id: str) -> CartItem:
        item = CartItem.objects.filter(id=item_id, cart__merchant_id=self.merchant.pk).select_related("cart").first()
        if item is None:
            raise NotFoundError("Cart item not found.")
        return item

    @extend_schema(request=s.CartItemUpdateInput, responses={200: s.CartOutput}, tags=["commerce"])
    def patch(self, request: Request, item_id: str) -> Response:
        item = self._item(item_id)
        data = s.CartItemUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.cart_set_quantity(
            merchant=self.merchant, cart=item.cart, item_id=item.id, quantity=data.validated_data["quantity"]
        )
        return Response(s.CartOutput(item.cart).data)

    @extend_schema(responses={200: s.CartOutput}, tags=["commerce"])
    def delete(self, request: Request, item_id: str) -> Response:
        item = self._item(item_id)
        services.cart_remove_item(merchant=self.merchant, cart=item.cart, item_id=item.id)
        return Response(s.CartOutput(item.cart).data)


class CartCheckoutView(_CommerceView):
    @extend_schema(
        request=s.CheckoutInput, responses={201: s.OrderDetailOutput, 200: s.OrderDetailOutput}, tags=["commerce"]
    )
    @idempotent()
    def post(self, request: Request, cart_id: str) -> Response:
        cart = selectors.cart_get(merchant=self.merchant, cart_id=cart_id)
        data = s.CheckoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        order, created = services.order_create_from_cart(
            merchant=self.merchant,
            cart=cart,
            customer=data.validated_data["customer"],
            payment_method=data.validated_data["payment_method"],
            source=OrderSource.API,
            actor=self.actor(),
        )
        order = selectors.order_get(merchant=self.merchant, order_id=order.id)
        return Response(s.OrderDetailOutput(order).data, status=201 if created else 200)


class OrderListView(_CommerceView):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", str),
            OpenApiParameter("source", str),
            OpenApiParameter("payment_method", str),
            OpenApiParameter("number", str),
            OpenApiParameter("created_after", str),
            OpenApiParameter("created_before", str),
            OpenApiParameter("conversation_id", str),
            OpenApiParameter("limit", int),
            OpenApiParameter("cursor", str),
        ],
        responses={200: s.OrderOutput(many=True)},
        tags=["commerce"],
    )
    def get(self, request: Request) -> Response:
        filters = s.OrderFilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.order_list(merchant=self.merchant, filters=filters.validated_data)
        return paginated_response(view=self, request=request, queryset=qs, serializer_class=s.OrderOutput)

    @extend_schema(request=s.OrderInput, responses={201: s.OrderDetailOutput}, tags=["commerce"])
    @idempotent()
    def post(self, request: Request) -> Response:
        data = s.OrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        order, _created = services.order_create(
            merchant=self.merchant,
            lines=[dict(line) for line in values["items"]],
            customer=values["customer"],
            payment_method=values["payment_method"],
            notes=values["notes"],
            source=OrderSource.API,
            actor=self.actor(),
        )
        order = selectors.order_get(merchant=self.merchant, order_id=order.id)
        return Response(s.OrderDetailOutput(order).data, status=status.HTTP_201_CREATED)


class OrderDetailView(_CommerceView):
    @extend_schema(responses={200: s.OrderDetailOutput}, tags=["commerce"])
    def get(self, request: Request, order_id: str) -> Response:
        return Response(s.OrderDetailOutput(selectors.order_get(merchant=self.merchant, order_id=order_id)).data)


class OrderStatusView(_CommerceView):
    @extend_schema(request=s.OrderStatusInput, responses={200: s.OrderDetailOutput}, tags=["commerce"])
    def post(self, request: Request, order_id: str) -> Response:
        order = selectors.order_get(merchant=self.merchant, order_id=order_id)
        data = s.OrderStatusInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.order_set_status(merchant=self.merchant, order=order, actor=self.actor(), **data.validated_data)
        return Response(s.OrderDetailOutput(selectors.order_get(merchant=self.merchant, order_id=order_id)).data)
