"""Turning knowledge into chunks: text extraction from uploads and sentence-aware splitting."""

import io
import re

from kaleem.core.errors import ApplicationError

_SENTENCE_END = re.compile(r"(?<=[.!?؟。])\s+|\n+")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.)]|#+)\s*")
MAX_CHUNK_CHARS = 600


def split_sentences(text: str) -> list[str]:
    """Sentences and list items, without Markdown bullets/headings; empty pieces dropped."""
    pieces = []
    for raw in _SENTENCE_END.split(text or ""):
        piece = _BULLET.sub("", raw).strip()
        if len(piece) >= 2:
            pieces.append(piece)
    return pieces


def chunk_text(text: str, *, max_chars: int = MAX_CHUNK_CHARS) -> list[str]:
    """Paragraph-first chunks of at most ~max_chars, never cutting a sentence in two unless it is huge."""
    chunks: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text or ""):
        current = ""
        for sentence in split_sentences(paragraph):
            while len(sentence) > max_chars:  # a "sentence" with no punctuation: hard-split it
                if current:
                    chunks.append(current)
                    current = ""
                chunks.append(sentence[:max_chars])
                sentence = sentence[max_chars:]
            if current and len(current) + 1 + len(sentence) > max_chars:
                chunks.append(current)
                current = sentence
            else:
                current = f"{current} {sentence}".strip()
        if current:
            chunks.append(current)
    return chunks


def sentence_chunks(text: str, *, min_chars: int = 40, max_chars: int = 400) -> list[str]:
    """One sentence per chunk; very short ones are glued to the next so no chunk is a bare fragment."""
    chunks: list[str] = []
    pending = ""
    for sentence in split_sentences(text):
        sentence = f"{pending} {sentence}".strip() if pending else sentence
        if len(sentence) < min_chars:
            pending = sentence
            continue
        pending = ""
        chunks.extend(chunk_text(sentence, max_chars=max_chars) if len(sentence) > max_chars else [sentence])
    if pending:
        if chunks:
            chunks[-1] = f"{chunks[-1]} {pending}"
        else:
            chunks.append(pending)
    return chunks


SUPPORTED_TYPES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".txt": "text/plain",
    ".pdf": "application/pdf",
}


def document_type(filename: str) -> str:
    lower = (filename or "").lower()
    for suffix, content_type in SUPPORTED_TYPES.items():
        if lower.endswith(suffix):
            return content_type
    raise ApplicationError(
        "Unsupported document type: upload Markdown (.md), plain text (.txt) or PDF (.pdf).",
        code="unsupported_media_type",
        status_code=415,
        fields={"file": ["Unsupported type."]},
    )


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1256"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def extract_text(data: bytes, content_type: str) -> str:
    """Plain text of the document ("" for empty or image-only/scanned PDFs). Raises on corrupt PDFs."""
    if content_type != "application/pdf":
        if b"\x00" in data[:4096]:
            raise ApplicationError("The file looks binary, not text.", code="invalid_document")
        return _decode(data).replace("\r\n", "\n").strip()
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ApplicationError("Encrypted PDFs cannot be read; upload an unlocked copy.", code="invalid_document")
        pages = [(page.extract_text() or "").strip() for page in reader.pages[:500]]
    except ApplicationError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ApplicationError(f"The PDF could not be read: {exc}", code="invalid_document") from exc
    return "\n\n".join(p for p in pages if p).strip()
