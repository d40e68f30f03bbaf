"""Every sentence the assistant can say on its own, in Arabic (Gulf-friendly, understandable to all)
and English. Facts never come from here — only from the catalog or the store's knowledge."""

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "greeting": {
        "ar": "أهلاً وسهلاً! أنا المساعد الآلي لمتجر {store}. أقدر أساعدك تلقى منتج أو أجاوبك عن الشحن والإرجاع والدفع.",
        "en": "Hello and welcome! I'm {store}'s assistant. I can help you find products or answer questions about shipping, returns and payment.",
    },
    "thanks": {
        "ar": "العفو، بالخدمة دايماً! إذا احتجت شي ثاني أنا موجود.",
        "en": "You're welcome! I'm here if you need anything else.",
    },
    "products_found": {
        "ar": "هذي أقرب الخيارات لطلبك:",
        "en": "Here are the closest matches:",
    },
    "products_none": {
        "ar": "ما لقيت منتجات تطابق طلبك حالياً. تقدر توصف اللي تبيه بطريقة ثانية، أو أحولك لأحد موظفينا.",
        "en": "I couldn't find products matching that right now. You can describe it differently, or I can connect you with our team.",
    },
    "products_none_cheaper": {
        "ar": "ما فيه خيارات أرخص من اللي عرضتها لك بنفس المواصفات.",
        "en": "There are no cheaper options than the ones I showed with the same criteria.",
    },
    "product_ask_which": {
        "ar": "أي منتج تقصد؟ اكتب رقمه من القائمة (مثلاً: الأول).",
        "en": "Which product do you mean? Tell me its number in the list (e.g. the first one).",
    },
    "policy_intro": {"ar": "", "en": ""},
    "policy_source": {"ar": "(المصدر: {title})", "en": "(Source: {title})"},
    "dont_know": {
        "ar": "ما عندي معلومة مؤكدة عن هذا في معلومات المتجر، وما أبي أعطيك جواب غير دقيق. تبي أحولك لأحد موظفينا؟",
        "en": "I don't have confirmed information about that in the store's details, and I don't want to guess. Would you like me to connect you with our team?",
    },
    "fallback": {
        "ar": "آسف، ما فهمت طلبك تماماً. أقدر أساعدك في المنتجات، الشحن، الإرجاع والاستبدال، والدفع — أو أحولك لموظف.",
        "en": "Sorry, I didn't quite get that. I can help with products, shipping, returns and exchanges, and payment — or connect you with our team.",
    },
    "injection": {
        "ar": "أقدر أساعدك فقط في منتجات المتجر وسياساته المعتمدة، وما أقدر أغير الأسعار أو أعطي خصومات غير معلنة.",
        "en": "I can only help with the store's products and its published policies; I can't change prices or give unpublished discounts.",
    },
    "empty": {
        "ar": "وصلتني رسالتك بدون نص. اكتب لي سؤالك وأنا أساعدك.",
        "en": "Your message arrived without text. Type your question and I'll help.",
    },
    "attachment": {
        "ar": "وصلني المرفق، شكراً. حالياً أقدر أفهم الرسائل النصية فقط — اكتب لي طلبك، أو أحولك لموظف يشوف المرفق.",
        "en": "Thanks, I received the attachment. For now I can only read text — type your request, or I can connect you with someone who can look at it.",
    },
    "handoff": {
        "ar": "أبشر، حولت محادثتك لأحد موظفينا وبيرد عليك بأقرب وقت.",
        "en": "Sure — I've passed your conversation to our team, and someone will reply as soon as possible.",
    },
    "handoff_after_failures": {
        "ar": "يبدو إني ما قدرت أساعدك كما يجب، فحولت محادثتك لأحد موظفينا وبيرد عليك بأقرب وقت.",
        "en": "It seems I couldn't help properly, so I've passed your conversation to our team; someone will reply as soon as possible.",
    },
    "order_ask_number": {
        "ar": "أكيد! عطني رقم الطلب لو سمحت.",
        "en": "Sure! Could you send me your order number?",
    },
    "order_ask_phone": {
        "ar": "للتحقق من الطلب {number}، اكتب رقم الجوال المسجل فيه.",
        "en": "To verify order {number}, please send the mobile number it was placed with.",
    },
    "order_not_available": {
        "ar": "شكراً، سجلت رقم الطلب {number}. للأسف ما أقدر أستعلم عن حالة الطلبات من هنا حالياً. تبي أحولك لموظف يتابعه معك؟",
        "en": "Thanks, I noted order number {number}. Unfortunately I can't look up order status from here yet. Would you like me to connect you with our team?",
    },
    "order_not_found": {
        "ar": "ما لقيت طلب بالرقم {number}. تأكد من الرقم، أو أحولك لموظف.",
        "en": "I couldn't find an order with number {number}. Please check it, or I can connect you with our team.",
    },
    "order_status": {
        "ar": "طلبك رقم {number} حالته: {status}.",
        "en": "Your order {number} is: {status}.",
    },
    "cart_not_available": {
        "ar": "الطلب عن طريق المحادثة غير متاح حالياً. تقدر تطلب من موقع المتجر مباشرة، أو أحولك لموظف يساعدك.",
        "en": "Ordering through chat isn't available yet. You can order on the store's website, or I can connect you with our team.",
    },
    "qr_human": {"ar": "كلم موظف", "en": "Talk to a human"},
    "qr_cheaper": {"ar": "أرخص", "en": "Cheaper"},
    "qr_colours": {"ar": "ألوان ثانية", "en": "Other colours"},
    "qr_new": {"ar": "وش جديدكم؟", "en": "What's new?"},
    "qr_returns": {"ar": "سياسة الإرجاع", "en": "Returns policy"},
    "qr_shipping": {"ar": "الشحن والتوصيل", "en": "Shipping"},
    "price": {"ar": "سعر {title}: {price} {currency}.", "en": "{title} costs {price} {currency}."},
    "price_sale": {
        "ar": "سعر {title}: {price} {currency} بدلاً من {old} {currency}.",
        "en": "{title} costs {price} {currency} (was {old} {currency}).",
    },
    "sizes": {"ar": "المقاسات المتوفرة: {sizes}.", "en": "Available sizes: {sizes}."},
    "sizes_unknown": {
        "ar": "ما عندي معلومات عن المقاسات لهذا المنتج.",
        "en": "I don't have size information for this product.",
    },
    "colours": {"ar": "اللون: {colours}.", "en": "Colour: {colours}."},
    "in_stock": {"ar": "{title} متوفر حالياً.", "en": "{title} is in stock."},
    "in_stock_count": {
        "ar": "{title} متوفر حالياً (الكمية: {stock}).",
        "en": "{title} is in stock ({stock} left).",
    },
    "out_of_stock": {"ar": "للأسف {title} غير متوفر حالياً.", "en": "Sorry, {title} is out of stock right now."},
}


def say(key: str, language: str, **values: Any) -> str:
    templates = TEXTS[key]
    return templates.get(language, templates["ar"]).format(**values)


def quick_reply(key: str, language: str, payload: str | None = None) -> dict[str, str]:
    title = say(key, language)
    return {"type": "quick_reply", "title": title, "payload": payload or title}
