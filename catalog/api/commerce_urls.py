from django.urls import path

from catalog.api import commerce_views as views

urlpatterns = [
    path("carts", views.CartListView.as_view(), name="commerce-carts"),
    path("carts/items/<uuid:item_id>", views.CartItemDetailView.as_view(), name="commerce-cart-item-detail"),
    path("carts/<uuid:cart_id>", views.CartDetailView.as_view(), name="commerce-cart-detail"),
    path("carts/<uuid:cart_id>/items", views.CartItemsView.as_view(), name="commerce-cart-items"),
    path("carts/<uuid:cart_id>/checkout", views.CartCheckoutView.as_view(), name="commerce-cart-checkout"),
    path("orders", views.OrderListView.as_view(), name="commerce-orders"),
    path("orders/<uuid:order_id>", views.OrderDetailView.as_view(), name="commerce-order-detail"),
    path("orders/<uuid:order_id>/status", views.OrderStatusView.as_view(), name="commerce-order-status"),
]
