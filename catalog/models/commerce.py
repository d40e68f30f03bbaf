"""Carts and orders: the commerce domain of a store (written by catalog.commerce_services only)."""

import uuid

from django.db import models

from kaleem.crypto import EncryptedTextField
from kaleem.tenancy.models import TenantModel


class CartStatus(models.TextChoices):
    OPEN = "open", "Open"
    CHECKED_OUT = "checked_out", "Checked out"
    ABANDONED = "abandoned", "Abandoned"


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    RETURNED = "returned", "Returned"


class OrderSource(models.TextChoices):
    CHAT = "chat", "Chat"
    API = "api", "API"
    SHOPIFY = "shopify", "Shopify"
    SALLA = "salla", "Salla"
    ZID = "zid", "Zid"


class PaymentMethod(models.TextChoices):
    CASH_ON_DELIVERY = "cod", "Cash on delivery"
    PAYMENT_LINK = "payment_link", "Payment link"
    PLATFORM = "platform", "Paid on the platform"


class Cart(TenantModel):
    """One open cart per conversation (or contact); the assistant keeps the cart id in its state."""

    conversation_id = models.UUIDField(null=True, blank=True, db_index=True)  # conversations app: no FK across apps
    contact_id = models.UUIDField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=CartStatus.choices, default=CartStatus.OPEN)
    currency = models.CharField(max_length=3, default="SAR")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["merchant", "status", "created_at"], name="cart_merchant_status_idx")]

    def __str__(self) -> str:
        return f"cart {self.id} ({self.status})"


class CartItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    attributes = models.JSONField(default=dict, blank=True)  # chosen variant: {"size": "40", "colour": "أسود"}
    attributes_key = models.CharField(max_length=200, blank=True, default="")  # canonical form for uniqueness
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)  # captured when added; re-checked at checkout
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product", "attributes_key"], name="uniq_cart_item_variant")
        ]


class Order(TenantModel):
    number = models.CharField(max_length=40)  # "K-10042" for our orders, the platform's name for synced ones
    number_seq = models.PositiveIntegerField(null=True, blank=True)  # allocation counter of our own numbers
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    source = models.CharField(max_length=16, choices=OrderSource.choices, default=OrderSource.API)
    payment_method = models.CharField(
        max_length=16, choices=PaymentMethod.choices, default=PaymentMethod.CASH_ON_DELIVERY
    )
    currency = models.CharField(max_length=3, default="SAR")
    subtotal = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    # Customer PII: encrypted at rest (kaleem.crypto); never used for look-ups.
    customer_name = EncryptedTextField(blank=True, default="")
    customer_phone = EncryptedTextField(blank=True, default="")
    customer_email = EncryptedTextField(blank=True, default="")
    shipping_city = EncryptedTextField(blank=True, default="")
    shipping_address = EncryptedTextField(blank=True, default="")
    notes = models.TextField(blank=True, default="")
    contact_id = models.UUIDField(null=True, blank=True)
    conversation_id = models.UUIDField(null=True, blank=True)
    cart = models.ForeignKey(Cart, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # chat: the turn (message) id
    external_id = models.CharField(max_length=200, null=True, blank=True)  # platform order id for synced orders
    checkout_url = models.URLField(max_length=1000, blank=True, default="")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "number"], name="uniq_order_merchant_number"),
            models.UniqueConstraint(fields=["merchant", "number_seq"], name="uniq_order_merchant_seq"),
            models.UniqueConstraint(
                fields=["merchant", "source", "idempotency_key"], name="uniq_order_merchant_source_idem"
            ),
            models.UniqueConstraint(fields=["merchant", "source", "external_id"], name="uniq_order_merchant_external"),
        ]
        indexes = [
            models.Index(fields=["merchant", "status", "created_at"], name="order_merchant_status_idx"),
            # a customer's orders ("where is my order?", the inbox side panel)
            models.Index(fields=["merchant", "contact_id", "created_at"], name="order_merchant_contact_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderItem(models.Model):
    """A snapshot: the order keeps what was sold even if the product changes or disappears."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    sku = models.CharField(max_length=100, blank=True, default="")
    title = models.CharField(max_length=300, blank=True, default="")
    attributes = models.JSONField(default=dict, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    line_total = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]


class OrderStatusHistory(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16)
    note = models.CharField(max_length=500, blank=True, default="")
    actor = models.CharField(max_length=100, blank=True, default="")  # "user:<id>", "assistant", "shopify"…
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
