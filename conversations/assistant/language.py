"""Language of a customer message: Arabic, English, or Arabizi (Arabic in Latin letters, answered in Arabic).

The shared normaliser (catalog.search.normalize) is the single definition of Arabic normalisation;
this module only adds what the assistant needs on top: Arabizi detection and transliteration of
its most frequent shopping words so the classifier and search see Arabic."""

import re

from catalog.search.normalize import detect_language, normalize_text, tokenize

__all__ = ["analyse", "normalize_text", "tokenize", "Analysis"]

# Digits standing for Arabic letters inside Latin words: 3=ع 7=ح 2=ء 5=خ 6=ط 9=ق 8=غ
_ARABIZI_DIGIT_WORD = re.compile(r"\b[a-z]*[a-z][2356789][a-z]*\b|\b[2356789][a-z]{2,}\b")
_ARABIZI_WORDS = {
    "3ndkm": "عندكم",
    "3andkom": "عندكم",
    "3ndk": "عندك",
    "andkm": "عندكم",
    "abi": "ابي",
    "abgha": "ابغى",
    "abgh": "ابغى",
    "ab8a": "ابغى",
    "abga": "ابغى",
    "ba3d": "بعد",
    "kam": "كم",
    "km": "كم",
    "se3r": "سعر",
    "s3r": "سعر",
    "si3r": "سعر",
    "s3ra": "سعره",
    "fustan": "فستان",
    "fstan": "فستان",
    "fasatin": "فساتين",
    "fasateen": "فساتين",
    "abaya": "عبايه",
    "3abaya": "عبايه",
    "3baya": "عبايه",
    "3abayat": "عبايات",
    "3bayat": "عبايات",
    "abayat": "عبايات",
    "jazmat": "جزمات",
    "shant": "شنط",
    "3otoor": "عطور",
    "3tor": "عطور",
    "3toor": "عطور",
    "3tr": "عطر",
    "3etr": "عطر",
    "thoob": "ثوب",
    "thob": "ثوب",
    "sa3a": "ساعه",
    "joota": "جوتي",
    "jazma": "جزمه",
    "7etha": "حذاء",
    "7itha2": "حذاء",
    "shanta": "شنطه",
    "shan6a": "شنطه",
    "aswad": "اسود",
    "eswed": "اسود",
    "abyad": "ابيض",
    "a7mar": "احمر",
    "ta7weel": "تحويل",
    "taw9eel": "توصيل",
    "tawseel": "توصيل",
    "tawsel": "توصيل",
    "shi7n": "شحن",
    "sha7n": "شحن",
    "erja3": "ارجاع",
    "irja3": "ارجاع",
    "arja3": "ارجع",
    "estirja3": "استرجاع",
    "esterja3": "استرجاع",
    "estebdal": "استبدال",
    "tabdeel": "تبديل",
    "daf3": "دفع",
    "dfa3": "دفع",
    "mada": "مدى",
    "6alabi": "طلبي",
    "talabi": "طلبي",
    "6lbi": "طلبي",
    "wain": "وين",
    "wen": "وين",
    "mta": "متى",
    "meta": "متى",
    "mata": "متى",
    "shukran": "شكرا",
    "shokran": "شكرا",
    "mashkor": "مشكور",
    "marhaba": "مرحبا",
    "hala": "هلا",
    "salam": "سلام",
    "mowadaf": "موظف",
    "mowathaf": "موظف",
    "muwathaf": "موظف",
    "ensan": "انسان",
    "kalmni": "كلمني",
    "ab3at": "ابعث",
    "ar5as": "ارخص",
    "arkhas": "ارخص",
    "ar5s": "ارخص",
    "ma8as": "مقاس",
    "magas": "مقاس",
    "ma9as": "مقاس",
    "mqas": "مقاس",
    "mawjood": "موجود",
    "mojood": "موجود",
    "mawjod": "موجود",
    "mtwfr": "متوفر",
    "mitwafer": "متوفر",
    "mutawafir": "متوفر",
    "lon": "لون",
    "loon": "لون",
    "el": "ال",
    "wa": "و",
    "fi": "في",
    "fe": "في",
    "3la": "على",
    "ala": "على",
    "mn": "من",
    "min": "من",
    "ma": "ما",
    "kif": "كيف",
    "kaif": "كيف",
    "shlon": "شلون",
    "ams": "امس",
    "lesh": "ليش",
    "ma9ar": "مصر",
    "ryal": "ريال",
    "riyal": "ريال",
    "ta7t": "تحت",
    "ta76": "تحت",
    "a8al": "اقل",
    "agal": "اقل",
    "sa3at": "ساعات",
    "dawam": "دوام",
    "rgm": "رقم",
    "ragam": "رقم",
    "ra8m": "رقم",
    "raqm": "رقم",
    "wla": "ولا",
    "yawsal": "يوصل",
    "yoosal": "يوصل",
    "twsloon": "توصلون",
    "tewaslon": "توصلون",
    "jeddah": "جده",
    "jda": "جده",
    "riyadh": "الرياض",
    "alriyadh": "الرياض",
}
# Words that are Arabizi and not also ordinary English words or place names.
_ARABIZI_MARKERS = frozenset(_ARABIZI_WORDS) - {
    "el",
    "wa",
    "fi",
    "fe",
    "ma",
    "mn",
    "min",
    "km",
    "abaya",
    "mada",
    "meta",
    "lon",
    "ala",
    "jeddah",
    "riyadh",
    "alriyadh",
    "ryal",
    "riyal",
}


class Analysis:
    __slots__ = ("raw", "normalized", "language", "arabizi", "tokens", "classifier_text")

    def __init__(self, raw: str, normalized: str, language: str, arabizi: bool, classifier_text: str) -> None:
        self.raw = raw
        self.normalized = normalized
        self.language = language
        self.arabizi = arabizi
        self.classifier_text = classifier_text
        self.tokens = tokenize(classifier_text)


def _is_arabizi(normalized: str) -> bool:
    words = re.findall(r"[a-z0-9]+", normalized)
    if not words:
        return False
    digit_words = len(_ARABIZI_DIGIT_WORD.findall(normalized))
    markers = sum(1 for w in words if w in _ARABIZI_MARKERS)
    return (
        (digit_words >= 1 and (digit_words + markers) / len(words) >= 0.25)
        or markers >= 2
        or (markers >= 1 and len(words) <= 2)
    )


_LATIN_WORD = re.compile(r"[a-z0-9]+")


def _transliterate(normalized: str) -> str:
    return _LATIN_WORD.sub(lambda m: _ARABIZI_WORDS.get(m.group(0), m.group(0)), normalized)


def analyse(text: str, *, language_hint: str = "") -> Analysis:
    """Normalise once per message; decide the reply language; give the classifier an Arabic-script
    version of Arabizi so dialect exemplars match."""
    normalized = normalize_text(text)
    if not normalized:
        return Analysis(text, "", language_hint or "ar", False, "")
    language = detect_language(normalized)
    arabizi = language == "en" and _is_arabizi(normalized)
    classifier_text = normalized
    if arabizi:
        language = "ar"
        classifier_text = normalize_text(_transliterate(normalized))
    elif not re.search(r"[^\W\d_]", normalized) and language_hint:
        language = language_hint  # emoji/digits only: keep the conversation's language
    return Analysis(text, normalized, language, arabizi, classifier_text)
