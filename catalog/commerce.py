"""The assistant's view of commerce (called only through conversations/assistant/seams.py).

`cart_action_for_assistant` keeps the cart id and the checkout dialogue in `state["commerce"]`
(the conversation state the assistant already persists) and answers in the customer's language:

    add from a product card / "I'll take the second"  → cart_add
    "my cart"                                          → cart_view
    buttons "cart:remove:<item>", "cart:qty:<item>:<n>", "remove the first", "make it 3"
    checkout → name → phone (Saudi formats) → city → address → [payment: cash on delivery or the
    store's payment link, asked only when the store configured one] → summary → confirm → order K-10042
    (+ a "pay now" button with the order's payment link)
    stores synced from Shopify/Salla/Zid get their own checkout link instead of the dialogue.

The order is created idempotently with the turn id as key, and a cart can be checked out only once,
so a double-tapped "confirm" gives one order."""

import re
from decimal import Decimal
from typing import Any

from catalog import commerce_selectors as selectors
from catalog import commerce_services as services
from catalog.models import Product
from catalog.models.commerce import CartStatus, OrderSource, OrderStatus, PaymentMethod
from kaleem.core.errors import ApplicationError

STEPS = ("name", "phone", "city", "address", "payment", "confirm")

TEXT = {
    "added": {
        "ar": "أضفت {title} (×{qty}) إلى سلتك. المجموع: {total} {currency}.",
        "en": "Added {title} (×{qty}) to your cart. Total: {total} {currency}.",
    },
    "no_product": {
        "ar": "أي منتج تبغى أضيفه؟ ابحث عن منتج أو اضغط زر الإضافة تحت المنتج.",
        "en": "Which product should I add? Search for one or tap the add button under a product.",
    },
    "out_of_stock": {
        "ar": "للأسف الكمية المطلوبة من {title} غير متوفرة حالياً.",
        "en": "Sorry, the quantity you asked for of {title} is not available right now.",
    },
    "cart_empty": {"ar": "سلتك فاضية حالياً.", "en": "Your cart is empty."},
    "cart_header": {"ar": "سلتك:", "en": "Your cart:"},
    "cart_total": {"ar": "المجموع: {total} {currency}", "en": "Total: {total} {currency}"},
    "removed": {"ar": "شلت {title} من السلة.", "en": "Removed {title} from your cart."},
    "updated": {"ar": "صارت كمية {title}: {qty}.", "en": "{title} quantity is now {qty}."},
    "which_line": {
        "ar": "أي منتج في السلة تقصد؟ اكتب رقمه (١، ٢، …).",
        "en": "Which item in your cart do you mean? Send its number (1, 2, …).",
    },
    "ask_name": {"ar": "تمام! وش اسمك الكامل للطلب؟", "en": "Great! What is your full name for the order?"},
    "ask_phone": {
        "ar": "وش رقم جوالك؟ (مثل 05XXXXXXXX)",
        "en": "What is your mobile number? (e.g. 05XXXXXXXX)",
    },
    "bad_phone": {
        "ar": "الرقم غير صحيح. اكتب رقم جوال سعودي مثل 0551234567.",
        "en": "That number doesn't look right. Please send a Saudi mobile number like 0551234567.",
    },
    "ask_city": {"ar": "في أي مدينة؟", "en": "Which city?"},
    "ask_address": {
        "ar": "وش العنوان (الحي والشارع)؟",
        "en": "What is the delivery address (district and street)?",
    },
    "too_short": {"ar": "المعلومة قصيرة جداً، ممكن توضح أكثر؟", "en": "That's too short, could you give a bit more?"},
    "summary": {
        "ar": "ملخص طلبك:\n{lines}\nالمجموع: {total} {currency} — {payment}\nالاسم: {name}\nالجوال: {phone}\nالعنوان: {city}، {address}\nأأكد الطلب؟",
        "en": "Your order:\n{lines}\nTotal: {total} {currency} — {payment}\nName: {name}\nPhone: {phone}\nAddress: {address}, {city}\nShall I place the order?",
    },
    "price_changed": {
        "ar": "تنبيه: تغيّر سعر بعض المنتجات، المجموع الجديد {total} {currency}.",
        "en": "Note: some prices changed; the new total is {total} {currency}.",
    },
    "placed": {
        "ar": "تم تأكيد طلبك رقم {number} ✅ المجموع {total} {currency}، الدفع عند الاستلام. بنتواصل معك على {phone}.",
        "en": "Your order {number} is placed ✅ Total {total} {currency}, cash on delivery. We'll contact you on {phone}.",
    },
    "placed_link": {
        "ar": "تم تسجيل طلبك رقم {number} ✅ المجموع {total} {currency}. ادفع من الرابط عشان نجهز طلبك:\n{url}",
        "en": "Your order {number} is placed ✅ Total {total} {currency}. Pay with this link so we can prepare it:\n{url}",
    },
    "ask_payment": {
        "ar": "كيف تحب تدفع؟ ١) الدفع عند الاستلام ٢) رابط دفع إلكتروني",
        "en": "How would you like to pay? 1) cash on delivery 2) online payment link",
    },
    "pay_cod": {"ar": "الدفع عند الاستلام", "en": "cash on delivery"},
    "pay_link": {"ar": "الدفع برابط إلكتروني", "en": "online payment link"},
    "qr_pay_cod": {"ar": "عند الاستلام", "en": "Cash on delivery"},
    "qr_pay_link": {"ar": "رابط دفع", "en": "Payment link"},
    "btn_pay": {"ar": "ادفع الآن", "en": "Pay now"},
    "already_placed": {
        "ar": "طلبك رقم {number} مسجل عندنا، ما أنشأت طلب ثاني.",
        "en": "Your order {number} is already placed; I didn't create a second one.",
    },
    "checkout_cancelled": {
        "ar": "ألغيت إتمام الطلب، سلتك محفوظة.",
        "en": "Checkout cancelled; your cart is kept.",
    },
    "checkout_link": {
        "ar": "تقدر تكمل الطلب والدفع من صفحة المتجر:",
        "en": "You can complete your order and payment on the store's checkout page:",
    },
    "order_failed": {
        "ar": "ما قدرت أنشئ الطلب: {reason}",
        "en": "I couldn't place the order: {reason}",
    },
    "qr_view_cart": {"ar": "عرض السلة", "en": "View cart"},
    "qr_checkout": {"ar": "إتمام الطلب", "en": "Checkout"},
    "qr_confirm": {"ar": "أكد الطلب", "en": "Confirm order"},
    "qr_cancel": {"ar": "إلغاء", "en": "Cancel"},
    "qr_remove": {"ar": "حذف {n}", "en": "Remove {n}"},
    "btn_checkout": {"ar": "إتمام الشراء", "en": "Checkout"},
}

STATUS_LABELS = {
    OrderStatus.PENDING: {"ar": "قيد المراجعة", "en": "pending review"},
    OrderStatus.CONFIRMED: {"ar": "مؤكد ويجري تجهيزه", "en": "confirmed and being prepared"},
    OrderStatus.SHIPPED: {"ar": "تم الشحن", "en": "shipped"},
    OrderStatus.DELIVERED: {"ar": "تم التوصيل", "en": "delivered"},
    OrderStatus.CANCELLED: {"ar": "ملغي", "en": "cancelled"},
    OrderStatus.RETURNED: {"ar": "مرتجع", "en": "returned"},
}

_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")
_PAYLOAD = re.compile(r"^\s*cart:(add|remove|qty|view|checkout)(?::([0-9a-fA-F-]{36}))?(?::(\d{1,2}))?\s*$")
_PRODUCT_PAYLOAD = re.compile(r"^\s*(?:product|buy):(\S{1,100})\s*$")
_CONFIRM = re.compile(
    r"^\s*(checkout:confirm|yes|y|ok|okay|confirm|confirm order|sure|yes please|نعم|ايوه|ايه|اي|اكيد|أكيد|تمام|"
    r"أكد|اكد|موافق|أكد الطلب|اكد الطلب)\s*[.!]*\s*$",
    re.I,
)
_CANCEL = re.compile(r"^\s*(checkout:cancel|cancel|no|stop|لا|إلغاء|الغاء|الغي|ألغي|الغ)\s*[.!]*\s*$", re.I)
_QUESTION = re.compile(r"[?؟]")
_PAY_COD = re.compile(
    r"^\s*(checkout:pay:cod|1|١|cod|cash|cash on delivery|on delivery|كاش|نقد|نقدا|نقداً|عند الاستلام|"
    r"الدفع عند الاستلام|استلام)\s*[.!]*\s*$",
    re.I,
)
_PAY_LINK = re.compile(
    r"^\s*(checkout:pay:link|2|٢|link|payment link|online|card|pay online|رابط|رابط دفع|لينك|اونلاين|أونلاين|"
    r"بطاقة|مدى|فيزا|الدفع الإلكتروني|الدفع الالكتروني|إلكتروني|الكتروني)\s*[.!]*\s*$",
    re.I,
)
ORDINALS = {
    "first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4,
    "اول": 0, "الاول": 0, "أول": 0, "الأول": 0, "ثاني": 1, "الثاني": 1, "ثالث": 2, "الثالث": 2,
    "رابع": 3, "الرابع": 3, "خامس": 4, "الخامس": 4,
}  # fmt: skip


def _say(key: str, language: str, **values: Any) -> str:
    templates = TEXT[key]
    return templates.get(language, templates["ar"]).format(**values)


def _qr(key: str, language: str, payload: str, **values: Any) -> dict:
    return {"type": "quick_reply", "title": _say(key, language, **values), "payload": payload}


def _money(value: Decimal) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value == value.to_integral() else f"{value:.2f}"


def _title(line: dict, language: str) -> str:
    return line["title_en"] if language == "en" else line["title_ar"]


def _ordinal(text: str) -> int | None:
    words = re.findall(r"[\w\u0600-\u06FF]+", text.lower())
    for word in words:
        if word in ORDINALS:
            return ORDINALS[word]
    return None


def _number(text: str) -> int | None:
    match = re.search(r"\b(\d{1,2})\b", text.translate(_ARABIC_DIGITS))
    return int(match.group(1)) if match else None


def order_status_for_assistant(
    *, merchant: Any, order_number: str, contact: Any = None, language: str = ""
) -> dict | None:
    """{"number", "status" (a label in `language`, Arabic by default), "code", "updated_at"} or None.
    When the assistant knows the contact, an order placed by another contact is "not found"."""
    order = selectors.order_find_by_number(merchant=merchant, number=order_number)
    if order is None:
        order = _platform_order(merchant, order_number)
    if order is None:
        return None
    contact_id = getattr(contact, "pk", contact)
    if contact_id and order.contact_id and str(order.contact_id) != str(contact_id):
        return None
    label = STATUS_LABELS.get(order.status, {}).get(language or "ar", order.status)
    return {
        "number": order.number,
        "status": label,
        "code": order.status,
        "updated_at": order.updated_at.isoformat(),
    }


def cart_action_for_assistant(
    *,
    merchant: Any,
    action: str,
    state: dict,
    contact: Any = None,
    text: str = "",
    language: str = "",
    turn_id: str | None = None,
    conversation_id: Any = None,
) -> dict:
    """{"text", "elements", "handled"}; mutates `state["commerce"]` (cart id, checkout step, details).
    `action`: cart_add | cart_view | cart_remove | cart_update | checkout | reply (the customer's answer
    to a pending checkout question, or a "cart:…" button payload; "handled" False when it is neither)."""
    language = language or state.get("language") or "ar"
    language = language if language in ("ar", "en") else "ar"
    # copy-on-write: a caller holding an earlier copy of `state` (e.g. to re-run a burst) keeps its view
    box = {**(state.get("commerce") or {})}
    box["details"] = dict(box.get("details") or {})
    state["commerce"] = box
    if box.get("step") == "placed" and action != "reply":
        box.pop("step")  # the customer moved on after the order was placed
    ctx = _Context(merchant, box, state, language, contact, text or "", turn_id, conversation_id)
    payload = _PAYLOAD.match(ctx.text)
    if payload:
        kind, ident, qty = payload.groups()
        if kind == "add" and ident:
            return ctx.add(product_id=ident, quantity=int(qty or 1))
        if kind == "remove" and ident:
            return ctx.set_quantity(item_id=ident, quantity=0)
        if kind == "qty" and ident and qty is not None:
            return ctx.set_quantity(item_id=ident, quantity=int(qty))
        if kind == "view":
            return ctx.view()
        if kind == "checkout":
            return ctx.checkout()
    if action == "reply":
        if box.get("step"):
            return ctx.answer()
        return {"text": "", "elements": [], "handled": False}
    if action == "cart_add":
        return ctx.add()
    if action == "cart_view":
        return ctx.view()
    if action == "cart_remove":
        return ctx.edit_line(remove=True)
    if action == "cart_update":
        return ctx.edit_line(remove=False)
    if action == "checkout":
        if box.get("step"):
            return ctx.answer()
        return ctx.checkout()
    return {"text": "", "elements": [], "handled": False}


class _Context:
    def __init__(
        self,
        merchant: Any,
        box: dict,
        state: dict,
        language: str,
        contact: Any,
        text: str,
        turn_id: str | None,
        conversation_id: Any,
    ) -> None:
        self.merchant = merchant
        self.box = box
        self.state = state
        self.language = language
        self.contact_id = getattr(contact, "pk", contact)
        self.text = text.strip()[:500]
        self.turn_id = turn_id
        self.conversation_id = conversation_id

    def reply(self, text: str, elements: list | None = None, **extra: Any) -> dict:
        return {"text": text, "elements": elements or [], "handled": True, **extra}

    def say(self, key: str, **values: Any) -> str:
        return _say(key, self.language, **values)

    def cart(self, create: bool = True) -> Any:
        cart_id = self.box.get("cart_id")
        if not create:
            if not cart_id:
                return None
            cart = selectors.Cart.objects.for_merchant(self.merchant).filter(id=cart_id).first()
            return cart if cart is not None and cart.status == CartStatus.OPEN else None
        cart = services.cart_open(
            merchant=self.merchant,
            cart_id=cart_id,
            conversation_id=self.conversation_id,
            contact_id=self.contact_id,
        )
        self.box["cart_id"] = str(cart.id)
        return cart

    # --- cart -------------------------------------------------------------------------------------
    def _pick_product(self, product_id: str | None) -> Product | None:
        products = Product.objects.for_merchant(self.merchant).filter(status="active")
        if product_id:
            return products.filter(id=product_id).first()
        match = _PRODUCT_PAYLOAD.match(self.text)
        if match:
            return products.filter(sku=match.group(1)).first()
        shown = list(self.state.get("shown") or [])
        if not shown:
            return None
        index = _ordinal(self.text)
        if index is None or index >= len(shown):
            index = 0
        return products.filter(id=shown[index]).first()

    def add(self, product_id: str | None = None, quantity: int | None = None) -> dict:
        product = self._pick_product(product_id)
        if product is None:
            return self.reply(self.say("no_product"))
        if quantity is None:
            number = _number(self.text) if not _PRODUCT_PAYLOAD.match(self.text) else None
            quantity = number if number and 1 <= number <= services.MAX_QUANTITY else 1
        cart = self.cart()
        title = (
            product.title_en if self.language == "en" and product.title_en else (product.title_ar or product.title_en)
        )
        try:
            services.cart_add_item(merchant=self.merchant, cart=cart, product=product, quantity=quantity)
        except services.OutOfStockError:
            return self.reply(self.say("out_of_stock", title=title))
        summary = selectors.cart_summary(cart=cart)
        return self.reply(
            self.say("added", title=title, qty=quantity, total=_money(summary["total"]), currency=summary["currency"]),
            [_qr("qr_view_cart", self.language, "cart:view"), _qr("qr_checkout", self.language, "cart:checkout")],
        )

    def view(self) -> dict:
        cart = self.cart(create=False)
        summary = selectors.cart_summary(cart=cart) if cart is not None else None
        if not summary or not summary["lines"]:
            return self.reply(self.say("cart_empty"))
        lines = [
            f"{n}. {_title(line, self.language)} ×{line['quantity']} — {_money(line['line_total'])} {summary['currency']}"
            for n, line in enumerate(summary["lines"], start=1)
        ]
        text = "\n".join(
            [
                self.say("cart_header"),
                *lines,
                self.say("cart_total", total=_money(summary["total"]), currency=summary["currency"]),
            ]
        )
        elements = [_qr("qr_checkout", self.language, "cart:checkout")]
        elements += [
            _qr("qr_remove", self.language, f"cart:remove:{line['id']}", n=n)
            for n, line in enumerate(summary["lines"][:5], start=1)
        ]
        return self.reply(text, elements)

    def set_quantity(self, *, item_id: str, quantity: int) -> dict:
        cart = self.cart(create=False)
        if cart is None:
            return self.reply(self.say("cart_empty"))
        line = next((ln for ln in selectors.cart_summary(cart=cart)["lines"] if ln["id"] == item_id), None)
        if line is None:
            return self.view()
        try:
            services.cart_set_quantity(merchant=self.merchant, cart=cart, item_id=item_id, quantity=quantity)
        except services.OutOfStockError:
            return self.reply(self.say("out_of_stock", title=_title(line, self.language)))
        except ApplicationError:
            return self.reply(self.say("which_line"))
        key = "removed" if quantity <= 0 else "updated"
        follow = self.view()
        return self.reply(
            self.say(key, title=_title(line, self.language), qty=quantity) + "\n" + follow["text"], follow["elements"]
        )

    def edit_line(self, *, remove: bool) -> dict:
        cart = self.cart(create=False)
        lines = selectors.cart_summary(cart=cart)["lines"] if cart is not None else []
        if not lines:
            return self.reply(self.say("cart_empty"))
        index = _ordinal(self.text)
        if index is None and len(lines) == 1:
            index = 0
        if index is None or index >= len(lines):
            return self.reply(self.say("which_line"))
        quantity = 0 if remove else (_number(self.text) or lines[index]["quantity"])
        return self.set_quantity(item_id=lines[index]["id"], quantity=quantity)

    # --- checkout ---------------------------------------------------------------------------------
    def checkout(self) -> dict:
        cart = self.cart(create=False)
        summary = selectors.cart_summary(cart=cart) if cart is not None else None
        if not summary or not summary["lines"]:
            self.box.pop("step", None)
            if self.box.get("last_order") and _CONFIRM.match(self.text):
                # the same "confirm" tapped twice: the first tap placed the order
                return self.already_placed()
            return self.reply(self.say("cart_empty"))
        link = _platform_checkout_link(self.merchant, summary)
        if link:
            return self.reply(
                self.say("checkout_link"),
                [{"type": "button", "title": self.say("btn_checkout"), "url": link}],
                checkout_url=link,
            )
        self.box["details"] = {}
        self.box["step"] = "name"
        return self.reply(self.say("ask_name"), [_qr("qr_cancel", self.language, "checkout:cancel")])

    def answer(self) -> dict:
        step = self.box.get("step")
        if step == "placed":
            self.box.pop("step", None)
            if self.box.get("last_order") and _CONFIRM.match(self.text):
                return self.already_placed()
            return {"text": "", "elements": [], "handled": False}
        details = self.box.setdefault("details", {})
        if _CANCEL.match(self.text):
            self.box.pop("step", None)
            return self.reply(self.say("checkout_cancelled"), [_qr("qr_view_cart", self.language, "cart:view")])
        if _QUESTION.search(self.text) and step != "phone":
            # "how much is shipping?" mid-checkout is a question, not a name or address: let the assistant
            # answer it; the pending step stays, so the next answer continues the checkout.
            return {"text": "", "elements": [], "handled": False}
        cancel = [_qr("qr_cancel", self.language, "checkout:cancel")]
        if step == "name":
            if len(self.text) < 2:
                return self.reply(self.say("too_short"), cancel)
            details["name"] = self.text[:120]
            self.box["step"] = "phone"
            return self.reply(self.say("ask_phone"), cancel)
        if step == "phone":
            phone = services.normalize_saudi_phone(self.text)
            if phone is None:
                return self.reply(self.say("bad_phone"), cancel)
            details["phone"] = phone
            self.box["step"] = "city"
            return self.reply(self.say("ask_city"), cancel)
        if step == "city":
            if len(self.text) < 2:
                return self.reply(self.say("too_short"), cancel)
            details["city"] = self.text[:80]
            self.box["step"] = "address"
            return self.reply(self.say("ask_address"), cancel)
        if step == "address":
            if len(self.text) < 4:
                return self.reply(self.say("too_short"), cancel)
            details["address"] = self.text[:300]
            if services.payment_link_available(self.merchant):
                self.box["step"] = "payment"
                return self.ask_payment()
            details["payment_method"] = PaymentMethod.CASH_ON_DELIVERY
            self.box["step"] = "confirm"
            return self.summary()
        if step == "payment":
            if _PAY_LINK.match(self.text) and services.payment_link_available(self.merchant):
                details["payment_method"] = PaymentMethod.PAYMENT_LINK
            elif _PAY_COD.match(self.text):
                details["payment_method"] = PaymentMethod.CASH_ON_DELIVERY
            else:
                return self.ask_payment()
            self.box["step"] = "confirm"
            return self.summary()
        if step == "confirm":
            if _CONFIRM.match(self.text):
                return self.place()
            return self.summary()
        self.box.pop("step", None)
        return self.checkout()

    def ask_payment(self) -> dict:
        return self.reply(
            self.say("ask_payment"),
            [
                _qr("qr_pay_cod", self.language, "checkout:pay:cod"),
                _qr("qr_pay_link", self.language, "checkout:pay:link"),
                _qr("qr_cancel", self.language, "checkout:cancel"),
            ],
        )

    def payment_method(self) -> str:
        chosen = self.box.get("details", {}).get("payment_method")
        if chosen == PaymentMethod.PAYMENT_LINK and services.payment_link_available(self.merchant):
            return PaymentMethod.PAYMENT_LINK
        return PaymentMethod.CASH_ON_DELIVERY

    def already_placed(self) -> dict:
        """The same "confirm" tapped twice: the first tap placed the order (its pay button again, if any)."""
        number = self.box["last_order"]
        order = selectors.order_find_by_number(merchant=self.merchant, number=number)
        url = services.order_payment_url(order, self.merchant) if order is not None else None
        buttons = [{"type": "button", "title": self.say("btn_pay"), "url": url}] if url else None
        return self.reply(self.say("already_placed", number=number), buttons)

    def summary(self, prefix: str = "") -> dict:
        cart = self.cart(create=False)
        if cart is None:
            self.box.pop("step", None)
            return self.reply(self.say("cart_empty"))
        summary = selectors.cart_summary(cart=cart)
        details = self.box.get("details", {})
        lines = "\n".join(
            f"- {_title(line, self.language)} ×{line['quantity']} — {_money(line['line_total'])}"
            for line in summary["lines"]
        )
        text = self.say(
            "summary",
            lines=lines,
            total=_money(summary["total"]),
            currency=summary["currency"],
            name=details.get("name", ""),
            phone=details.get("phone", ""),
            city=details.get("city", ""),
            address=details.get("address", ""),
            payment=self.say("pay_link" if self.payment_method() == PaymentMethod.PAYMENT_LINK else "pay_cod"),
        )
        return self.reply(
            (prefix + "\n" if prefix else "") + text,
            [_qr("qr_confirm", self.language, "checkout:confirm"), _qr("qr_cancel", self.language, "checkout:cancel")],
        )

    def place(self) -> dict:
        cart_id = self.box.get("cart_id")
        cart = selectors.Cart.objects.for_merchant(self.merchant).filter(id=cart_id).first() if cart_id else None
        if cart is None:
            self.box.pop("step", None)
            return self.reply(self.say("cart_empty"))
        if cart.status == CartStatus.OPEN and services.cart_refresh_prices(cart=cart):
            total = selectors.cart_summary(cart=cart)["total"]
            return self.summary(prefix=self.say("price_changed", total=_money(total), currency=cart.currency))
        details = self.box.get("details", {})
        method = self.payment_method()
        if details.get("payment_method", method) != method:
            # the store turned its payment link off during the dialogue: show the summary again, now
            # with cash on delivery, instead of switching the customer's payment silently
            details["payment_method"] = method
            return self.summary()
        customer = {k: v for k, v in details.items() if k != "payment_method"}
        try:
            order, created = services.order_create_from_cart(
                merchant=self.merchant,
                cart=cart,
                customer=customer,
                payment_method=method,
                source=OrderSource.CHAT,
                idempotency_key=f"turn:{self.turn_id}" if self.turn_id else f"cart:{cart.id}",
                actor="assistant",
            )
        except services.OutOfStockError as exc:
            self.box["step"] = "confirm"
            return self.reply(
                self.say("order_failed", reason=exc.message), [_qr("qr_view_cart", self.language, "cart:view")]
            )
        except ApplicationError as exc:
            return self.reply(self.say("order_failed", reason=exc.message))
        # "placed" keeps the next message with commerce once: a second "yes" tapped before this reply
        # arrived is answered "already placed" instead of being read as a new question
        self.box["step"] = "placed"
        self.box.pop("details", None)
        self.box.pop("cart_id", None)
        self.box["last_order"] = order.number
        url = services.order_payment_url(order, self.merchant)
        if url and created:
            return self.reply(
                self.say(
                    "placed_link", number=order.number, total=_money(order.total), currency=order.currency, url=url
                ),
                [{"type": "button", "title": self.say("btn_pay"), "url": url}],
                order_number=order.number,
                payment_url=url,
            )
        key = "placed" if created else "already_placed"
        return self.reply(
            self.say(
                key, number=order.number, total=_money(order.total), currency=order.currency, phone=order.customer_phone
            ),
            [{"type": "button", "title": self.say("btn_pay"), "url": url}] if url else None,
            order_number=order.number,
        )


def _platform_order(merchant: Any, number: str) -> Any:
    """An order placed on the store's platform that no webhook told us about: ask the platform, mirror it."""
    try:
        from integrations.selectors import platform_order_lookup
    except ImportError:
        return None
    return platform_order_lookup(merchant=merchant, number=number)


def _platform_checkout_link(merchant: Any, summary: dict) -> str | None:
    """Stores synced from a platform check out on the platform (its payment, stock and shipping)."""
    try:
        from integrations.selectors import platform_checkout_url
    except ImportError:  # integrations app not installed
        return None
    return platform_checkout_url(merchant=merchant, lines=summary["lines"])
