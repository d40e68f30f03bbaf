"""Validation of uploaded product images: the bytes decide, never the file name or the declared content type.

`inspect_image(upload)` sniffs the magic bytes (JPEG, PNG, WebP, GIF only), then has Pillow parse the header
(pixel-count limit before any decoding: no decompression bombs) and decode the first frame fully, so truncated
or corrupt files and files that merely start like an image are refused with a reason. Writes live in
catalog.services (`product_image_add`, `product_image_delete`)."""

import warnings
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework import status

from catalog.errors import CatalogError

# magic bytes → (content type, file extension, Pillow format name)
_ACCEPTED = {
    "jpeg": ("image/jpeg", "jpg", "JPEG"),
    "png": ("image/png", "png", "PNG"),
    "webp": ("image/webp", "webp", "WEBP"),
    "gif": ("image/gif", "gif", "GIF"),
}
# Recognised but refused, so the error can say what the file is.
_REFUSED = (
    (b"%PDF", "a PDF document"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x00\x00\x01\x00", "an ICO icon"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "an executable"),
)


class ImageUploadError(CatalogError):
    code = "invalid_image"
    status_code = status.HTTP_400_BAD_REQUEST


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    extension: str
    width: int
    height: int
    size_bytes: int


def max_bytes() -> int:
    return int(getattr(settings, "CATALOG_IMAGE_MAX_BYTES", 5 * 1_048_576))


def max_pixels() -> int:
    return int(getattr(settings, "CATALOG_IMAGE_MAX_PIXELS", 40_000_000))


def sniff(head: bytes) -> str | None:
    """'jpeg' | 'png' | 'webp' | 'gif' from the first bytes, else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def _describe(head: bytes) -> str:
    for magic, name in _REFUSED:
        if head.startswith(magic):
            return name
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<svg", b"<?xml")) and b"<svg" in head.lower():
        return "an SVG image (scripts can hide in SVG)"
    if text.startswith((b"<!doctype", b"<html", b"<")):
        return "an HTML/XML document"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "a HEIC/AVIF image"
    return "not a recognised image"


def inspect_image(upload: Any) -> ImageInfo:
    """Check an uploaded file (Django UploadedFile or any binary file object with `.size`) and describe it.

    Raises ImageUploadError: 400 empty / not an image / corrupt / too many pixels, 413 too large,
    415 a type other than JPEG, PNG, WebP or GIF. Leaves the file positioned at 0."""
    from PIL import Image, UnidentifiedImageError

    size = int(getattr(upload, "size", 0) or 0)
    if size == 0:
        raise ImageUploadError("The file is empty (0 bytes).", code="empty_file", fields={"file": ["Empty file."]})
    if size > max_bytes():
        raise ImageUploadError(
            f"The image is {size:,} bytes; the limit is {max_bytes():,}.",
            code="image_too_large",
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            fields={"file": ["Too large."]},
        )
    upload.seek(0)
    head = upload.read(32)
    upload.seek(0)
    kind = sniff(head)
    if kind is None:
        what = _describe(head)
        raise ImageUploadError(
            f"Unsupported file type: {what}. Upload a JPEG, PNG, WebP or GIF image.",
            code="unsupported_image_type",
            status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            fields={"file": [f"Only JPEG, PNG, WebP and GIF are accepted ({what})."]},
        )
    content_type, extension, pil_format = _ACCEPTED[kind]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload, formats=[pil_format]) as image:
                width, height = image.size
                if width <= 0 or height <= 0 or width * height > max_pixels():
                    raise ImageUploadError(
                        f"The image is {width}×{height} pixels; the limit is {max_pixels():,} pixels.",
                        code="image_too_many_pixels",
                        fields={"file": ["Too many pixels."]},
                    )
                image.load()  # decodes the (first) frame: truncated and corrupt data fail here
    except ImageUploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageUploadError(
            f"The image has too many pixels: {exc}", code="image_too_many_pixels", fields={"file": ["Too many pixels."]}
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageUploadError(
            f"The file starts like a {kind.upper()} image but is not a valid one ({type(exc).__name__}: {exc}).",
            code="invalid_image",
            fields={"file": ["Not a valid image."]},
        ) from exc
    finally:
        upload.seek(0)
    return ImageInfo(content_type=content_type, extension=extension, width=width, height=height, size_bytes=size)
