"""Arabic/English text normalisation shared by lexical search, the assistant and knowledge retrieval.

Contract (used by other apps): ``normalize_text``, ``tokenize``, ``detect_language``. Pure functions,
no Django imports, so they are cheap to call per message and per product."""

import re
import unicodedata
from functools import lru_cache

# Harakat, tanween, shadda, sukun, superscript alef, Quranic marks.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_TATWEEL = "\u0640"
_CHAR_MAP = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ئ": "ي",
        "ؤ": "و",
        "ة": "ه",
        "گ": "ك",
        "ک": "ك",
        "ی": "ي",
        # Arabic-Indic and Eastern Arabic-Indic (Persian) digits → ASCII.
        **{chr(0x0660 + i): str(i) for i in range(10)},
        **{chr(0x06F0 + i): str(i) for i in range(10)},
        "٫": ".",
        "٬": "",
        "،": ",",
        "؛": ";",
        "؟": "?",
    }
)
_SPACES = re.compile(r"\s+")
_TOKEN = re.compile(r"[0-9]+(?:\.[0-9]+)?|[^\W\d_]+", re.UNICODE)
_ARABIC_CHAR = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")
_LATIN_CHAR = re.compile("[A-Za-z]")

# Light stemming: strip frequent clitics/affixes only when a stem of >= 3 letters remains.
_AR_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
_AR_SUFFIXES = ("ات", "ون", "ين", "ها", "هم", "ية", "يه", "ه", "ي")
_EN_STOP = frozenset(
    "a an the and or of for to in on with is are be i me my we you your it this that please want need looking "
    "show find any some do does have has".split()
)
_AR_STOP = frozenset(
    "في من على الى عن مع او و ابي ابغى ابغا ابا ودي اريد عندكم عندك هل لو سمحت ممكن فيه شي شيء اي ايش وش "
    "هذا هذه ذا انا".split()
)


def normalize_text(text: str) -> str:
    """Canonical form: NFKC, Arabic letter/digit unification, no diacritics/tatweel, lowercase, single spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = _DIACRITICS.sub("", text).replace(_TATWEEL, "")
    text = text.translate(_CHAR_MAP).lower()
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=65536)
def _stem(token: str) -> str:
    if token.isdigit():
        return token
    if _ARABIC_CHAR.search(token):
        for prefix in _AR_PREFIXES:
            if token.startswith(prefix) and len(token) - len(prefix) >= 3:
                token = token[len(prefix) :]
                break
        # A lone conjunction/preposition glued on ("وحذاء", "بسعر").
        if len(token) >= 5 and token[0] in "وبفل":
            token = token[1:]
        for suffix in _AR_SUFFIXES:
            if token.endswith(suffix) and len(token) - len(suffix) >= 3:
                return token[: -len(suffix)]
        return token
    # English: a tiny s-stemmer is enough for plural/singular product words.
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 4 and token.endswith(("ses", "xes", "ches", "shes")):
        return token[:-2]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokenize(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Normalised, lightly stemmed tokens (numbers kept); common ar/en stop words dropped by default."""
    tokens = _TOKEN.findall(normalize_text(text))
    if not keep_stopwords:
        tokens = [t for t in tokens if t not in _EN_STOP and t not in _AR_STOP]
    return [_stem(t) for t in tokens]


def detect_language(text: str) -> str:
    """ "ar" when Arabic letters are at least as frequent as Latin ones (and present), else "en"."""
    arabic = len(_ARABIC_CHAR.findall(text or ""))
    latin = len(_LATIN_CHAR.findall(text or ""))
    return "ar" if arabic and arabic >= latin else "en"
