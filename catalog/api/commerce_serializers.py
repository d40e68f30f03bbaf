"""Input/Output serializers of the carts and orders API."""

from rest_framework import serializers

from catalog.commerce_services import order_payment_url
from catalog.models import Cart, CartItem, Order, OrderItem, OrderStatusHistory
from catalog.models.commerce import OrderSource, OrderStatus, PaymentMethod
from merchants.models import Merchant


class CartItemOutput(serializers.ModelSerializer):
    product = serializers.UUIDField(source="product_id")

    class Meta:
        model = CartItem
        fields = ["id", "product", "attributes", "quantity", "unit_price", "created_at"]


class CartOutput(serializers.ModelSerializer):
    items = CartItemOutput(many=True, read_only=True)
    total = serializers.SerializerMethodField()

    class Meta:
        model = Cart
        fields = [
            "id",
            "status",
            "currency",
            "conversation_id",
            "contact_id",
            "items",
            "total",
            "created_at",
            "updated_at",
        ]

    def get_total(self, cart: Cart) -> str:
        return str(sum((i.unit_price * i.quantity for i in cart.items.all()), 0))


class CartInput(serializers.Serializer):
    conversation_id = serializers.UUIDField(required=False, allow_null=True)
    contact_id = serializers.UUIDField(required=False, allow_null=True)


class CartItemInput(serializers.Serializer):
    product = serializers.UUIDField()
    quantity = serializers.IntegerField(min_value=1, max_value=99, default=1)
    attributes = serializers.DictField(child=serializers.CharField(max_length=100), required=False, default=dict)


class CartItemUpdateInput(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=0, max_value=99)


class CustomerInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    phone = serializers.CharField(max_length=30)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=80)
    address = serializers.CharField(max_length=300)


class CheckoutInput(serializers.Serializer):
    customer = CustomerInput()
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices, default=PaymentMethod.CASH_ON_DELIVERY)


class OrderLineInput(serializers.Serializer):
    product = serializers.UUIDField()
    quantity = serializers.IntegerField(min_value=1, max_value=99, default=1)
    attributes = serializers.DictField(child=serializers.CharField(max_length=100), required=False, default=dict)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)  # expected price


class OrderInput(serializers.Serializer):
    items = OrderLineInput(many=True, min_length=1, max_length=50)
    customer = CustomerInput()
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices, default=PaymentMethod.CASH_ON_DELIVERY)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class OrderStatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class OrderItemOutput(serializers.ModelSerializer):
    product = serializers.UUIDField(source="product_id", allow_null=True)

    class Meta:
        model = OrderItem
        fields = ["id", "product", "sku", "title", "attributes", "quantity", "unit_price", "line_total"]


class OrderHistoryOutput(serializers.ModelSerializer):
    class Meta:
        model = OrderStatusHistory
        fields = ["from_status", "to_status", "note", "actor", "created_at"]


class OrderOutput(serializers.ModelSerializer):
    items = OrderItemOutput(many=True, read_only=True)
    payment_url = serializers.SerializerMethodField(
        help_text="For payment_method payment_link: the store's payment link for this order (null otherwise, or "
        "when the store has no payment link configured)"
    )

    class Meta:
        model = Order
        fields = [
            "id", "number", "status", "source", "payment_method", "currency", "subtotal", "total",
            "customer_name", "customer_phone", "customer_email", "shipping_city", "shipping_address", "notes",
            "contact_id", "conversation_id", "external_id", "items", "payment_url",
            "confirmed_at", "shipped_at", "delivered_at", "cancelled_at", "returned_at", "created_at", "updated_at",
        ]  # fmt: skip

    def get_payment_url(self, order: Order) -> str | None:
        if order.payment_method != PaymentMethod.PAYMENT_LINK:
            return None
        stores = self.root.__dict__.setdefault("_stores", {})  # one store read per page, not per order
        if order.merchant_id not in stores:
            stores[order.merchant_id] = Merchant.objects.filter(pk=order.merchant_id).first()
        return order_payment_url(order, stores[order.merchant_id])


class OrderDetailOutput(OrderOutput):
    history = OrderHistoryOutput(many=True, read_only=True)

    class Meta(OrderOutput.Meta):
        fields = [*OrderOutput.Meta.fields, "history"]


class OrderFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)
    source = serializers.ChoiceField(choices=OrderSource.choices, required=False)
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices, required=False)
    number = serializers.CharField(max_length=40, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    conversation_id = serializers.UUIDField(required=False)
