"""The demo store's knowledge (policies and FAQs in Arabic and English), loaded by `manage.py load_demo`.

Idempotent: rows are matched by their `key`; changed text is updated through the services (so the
outbox re-indexes it) and everything is indexed synchronously so the assistant answers at once.
The evaluation set (conversations/eval/demo_eval.jsonl) refers to these keys."""

from typing import Any

POLICIES: list[tuple[str, str, str, str]] = [
    # (kind, language, title, body)
    (
        "shipping",
        "ar",
        "سياسة الشحن",
        "نجهز ونشحن جميع الطلبات خلال يوم عمل واحد من تأكيد الطلب.\n"
        "التوصيل داخل الرياض يستغرق من يوم إلى يومين عمل، وإلى باقي مدن المملكة من 2 إلى 5 أيام عمل.\n"
        "رسوم الشحن 25 ريالاً، والشحن مجاني للطلبات التي تزيد قيمتها عن 300 ريال.\n"
        "نشحن عبر سمسا وأرامكس، ويصلك رقم التتبع برسالة نصية بعد شحن الطلب.",
    ),
    (
        "shipping",
        "en",
        "Shipping policy",
        "We prepare and ship every order within one business day of confirmation.\n"
        "Delivery within Riyadh takes 1 to 2 business days, and 2 to 5 business days to other cities in Saudi Arabia.\n"
        "Shipping costs 25 SAR, and shipping is free for orders above 300 SAR.\n"
        "We ship with SMSA and Aramex, and you receive the tracking number by SMS once the order ships.",
    ),
    (
        "returns",
        "ar",
        "سياسة الإرجاع والاسترداد",
        "يمكنك إرجاع المنتجات خلال 14 يوماً من تاريخ الاستلام بشرط أن تكون بحالتها الأصلية وغير مستخدمة ومعها الفاتورة.\n"
        "لا يمكن إرجاع العطور المفتوحة والملابس الداخلية لأسباب صحية.\n"
        "يُعاد المبلغ إلى وسيلة الدفع الأصلية خلال 5 إلى 7 أيام عمل بعد استلامنا المنتج وفحصه.\n"
        "شحن الإرجاع مجاني إذا كان المنتج معيباً أو وصلك منتج خاطئ، وفي غير ذلك تُخصم 20 ريالاً من المبلغ المسترد.",
    ),
    (
        "returns",
        "en",
        "Returns and refunds policy",
        "You can return items within 14 days of delivery if they are unused, in their original condition and with the invoice.\n"
        "Opened perfumes and underwear cannot be returned for hygiene reasons.\n"
        "Refunds go back to the original payment method within 5 to 7 business days after we receive and inspect the item.\n"
        "Return shipping is free if the item is defective or you received the wrong item; otherwise 20 SAR is deducted from the refund.",
    ),
    (
        "exchange",
        "ar",
        "سياسة الاستبدال",
        "يمكنك استبدال المقاس أو اللون خلال 14 يوماً من الاستلام مرة واحدة مجاناً، حسب توفر المقاس أو اللون المطلوب.\n"
        "لطلب الاستبدال تواصل معنا برقم الطلب والمقاس أو اللون الذي تريده، ونرسل مندوباً يستلم القطعة ويسلمك البديل.",
    ),
    (
        "exchange",
        "en",
        "Exchange policy",
        "You can exchange an item for another size or colour once, free of charge, within 14 days of delivery, subject to availability.\n"
        "To request an exchange, contact us with your order number and the size or colour you want; a courier collects the item and delivers the replacement.",
    ),
    (
        "payment",
        "ar",
        "طرق الدفع",
        "نقبل الدفع بمدى وفيزا وماستركارد وApple Pay.\n"
        "يتوفر التقسيط على 4 دفعات بدون فوائد عبر تابي وتمارا.\n"
        "الدفع عند الاستلام متاح داخل المملكة برسوم إضافية 15 ريالاً للطلبات حتى 1000 ريال.",
    ),
    (
        "payment",
        "en",
        "Payment methods",
        "We accept mada, Visa, Mastercard and Apple Pay.\n"
        "You can split your payment into 4 interest-free instalments with Tabby or Tamara.\n"
        "Cash on delivery is available inside Saudi Arabia for an extra 15 SAR on orders up to 1000 SAR.",
    ),
    (
        "delivery_areas",
        "ar",
        "مناطق التوصيل",
        "نوصل لجميع مدن ومناطق المملكة العربية السعودية.\n"
        "نشحن أيضاً إلى دول الخليج: الإمارات والكويت والبحرين وقطر وعُمان خلال 5 إلى 8 أيام عمل برسوم 60 ريالاً.\n"
        "لا نشحن حالياً إلى دول خارج الخليج.",
    ),
    (
        "delivery_areas",
        "en",
        "Delivery areas",
        "We deliver to every city and region of Saudi Arabia.\n"
        "We also ship to the GCC countries — UAE, Kuwait, Bahrain, Qatar and Oman — in 5 to 8 business days for 60 SAR.\n"
        "We do not currently ship to countries outside the GCC.",
    ),
    (
        "working_hours",
        "ar",
        "أوقات العمل",
        "خدمة العملاء متاحة من السبت إلى الخميس من 9 صباحاً حتى 11 مساءً، ويوم الجمعة من 4 عصراً حتى 11 مساءً بتوقيت الرياض.\n"
        "المتجر الإلكتروني يستقبل الطلبات على مدار الساعة.",
    ),
    (
        "working_hours",
        "en",
        "Working hours",
        "Customer service is available Saturday to Thursday from 9 am to 11 pm, and on Friday from 4 pm to 11 pm, Riyadh time.\n"
        "The online store takes orders around the clock.",
    ),
    (
        "contact",
        "ar",
        "التواصل معنا",
        "تواصل معنا عبر واتساب على الرقم 920001234 أو بالبريد الإلكتروني support@demo-fashion.example.\n"
        "نرد على الرسائل خلال ساعتين في أوقات العمل.",
    ),
    (
        "contact",
        "en",
        "Contact us",
        "Contact us on WhatsApp at 920001234 or by email at support@demo-fashion.example.\n"
        "We reply to messages within two hours during working hours.",
    ),
]

FAQS: list[tuple[str, str, str, str]] = [
    # (topic key, language, question, answer)
    ("gift_wrap", "ar", "هل يوجد تغليف هدايا؟", "نعم، نوفر تغليف هدايا مقابل 10 ريالات مع بطاقة إهداء مكتوبة باسمك."),
    (
        "gift_wrap",
        "en",
        "Do you offer gift wrapping?",
        "Yes, gift wrapping costs 10 SAR and includes a card with your message.",
    ),
    (
        "authentic",
        "ar",
        "هل المنتجات أصلية؟",
        "جميع منتجاتنا أصلية ومستوردة من موردين معتمدين، ومع كل عطر شهادة أصالة.",
    ),
    (
        "authentic",
        "en",
        "Are your products original?",
        "All our products are genuine and come from authorised suppliers; every perfume comes with a certificate of authenticity.",
    ),
    ("branch", "ar", "هل لديكم فرع أو محل؟", "لا يوجد لدينا فرع حالياً؛ نبيع عبر المتجر الإلكتروني فقط."),
    (
        "branch",
        "en",
        "Do you have a physical store or branch?",
        "We don't have a physical branch at the moment; we sell online only.",
    ),
    (
        "size_guide",
        "ar",
        "كيف أعرف مقاسي؟",
        "تجد دليل المقاسات في صفحة كل منتج. إذا كنت بين مقاسين ننصحك بالمقاس الأكبر.",
    ),
    (
        "size_guide",
        "en",
        "How do I know my size?",
        "Every product page has a size guide. If you are between two sizes, we recommend the larger one.",
    ),
    (
        "discount_codes",
        "ar",
        "هل عندكم كود خصم أو عروض؟",
        "نعلن أكواد الخصم والعروض عبر حساباتنا في وسائل التواصل والنشرة البريدية فقط، ولا يمكن منح خصومات عبر المحادثة.",
    ),
    (
        "discount_codes",
        "en",
        "Do you have discount codes or offers?",
        "We announce discount codes and offers only on our social media accounts and newsletter; discounts cannot be given in chat.",
    ),
    (
        "cancel_order",
        "ar",
        "كيف ألغي طلبي؟",
        "يمكنك إلغاء الطلب قبل شحنه بالتواصل مع خدمة العملاء، ويُعاد المبلغ كاملاً.",
    ),
    (
        "cancel_order",
        "en",
        "How can I cancel my order?",
        "You can cancel an order before it ships by contacting customer service, and you get a full refund.",
    ),
    (
        "change_address",
        "ar",
        "هل أقدر أغير عنوان التوصيل؟",
        "يمكن تعديل عنوان التوصيل قبل شحن الطلب فقط، عبر التواصل مع خدمة العملاء.",
    ),
    (
        "change_address",
        "en",
        "Can I change my delivery address?",
        "The delivery address can be changed only before the order ships, by contacting customer service.",
    ),
    (
        "vat_invoice",
        "ar",
        "هل الأسعار شاملة الضريبة؟ وهل تصلني فاتورة؟",
        "جميع الأسعار شاملة ضريبة القيمة المضافة، وتصلك فاتورة ضريبية إلكترونية على بريدك بعد تأكيد الطلب.",
    ),
    (
        "vat_invoice",
        "en",
        "Do prices include VAT, and do I get an invoice?",
        "All prices include VAT, and an electronic tax invoice is emailed to you once the order is confirmed.",
    ),
]


def demo_load_knowledge(*, merchant: Any) -> dict[str, int]:
    from merchants.knowledge import services
    from merchants.knowledge.indexing import knowledge_source_reindex
    from merchants.knowledge.models import Faq, Policy

    policies = {p.key: p for p in Policy.objects.for_merchant(merchant).exclude(key="")}
    touched: list[tuple[str, Any]] = []
    for kind, language, title, body in POLICIES:
        key = f"demo:{kind}:{language}"
        existing = policies.get(key)
        if existing is None:
            policy = services.policy_create(
                merchant=merchant, kind=kind, title=title, body=body, language=language, key=key
            )
        elif existing.body != body or existing.title != title:
            policy = services.policy_update(
                merchant=merchant, policy_id=existing.id, data={"title": title, "body": body}
            )
        else:
            policy = existing
        touched.append(("policy", policy.id))
    faqs = {f.key: f for f in Faq.objects.for_merchant(merchant).exclude(key="")}
    for topic, language, question, answer in FAQS:
        key = f"demo:faq:{topic}:{language}"
        existing = faqs.get(key)
        if existing is None:
            faq = services.faq_create(merchant=merchant, question=question, answer=answer, language=language, key=key)
        elif existing.answer != answer or existing.question != question:
            faq = services.faq_update(
                merchant=merchant, faq_id=existing.id, data={"question": question, "answer": answer}
            )
        else:
            faq = existing
        touched.append(("faq", faq.id))
    chunks = 0
    for source_kind, source_id in touched:
        chunks += knowledge_source_reindex(merchant_id=merchant.pk, source_kind=source_kind, source_id=source_id)
    return {"policies": len(POLICIES), "faqs": len(FAQS), "chunks": chunks}
