"""Secrets and PII at rest: MultiFernet over `settings.FIELD_ENCRYPTION_KEYS`.

The first key encrypts, every key decrypts, so rotating is "prepend a new key, re-save rows,
drop the old key". With no keys configured (development) a key is derived from SECRET_KEY so the
embedded default still encrypts; production sets FIELD_ENCRYPTION_KEYS explicitly.

    from kaleem.crypto import EncryptedTextField, encrypt_str, decrypt_str

    class Contact(TenantModel):
        phone = EncryptedTextField(blank=True, default="")
"""

import base64
import hashlib
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

# Ciphertexts carry this prefix so a plaintext row written before encryption was enabled (or by a
# fixture) is recognised and returned as-is instead of failing to decrypt.
PREFIX = "enc:"


def _derived_key(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(f"kaleem-field-encryption:{secret}".encode()).digest())


@lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...], secret: str) -> MultiFernet:
    materials = [k.encode() if isinstance(k, str) else k for k in keys if k] or [_derived_key(secret)]
    return MultiFernet([Fernet(m) for m in materials])


def fernet() -> MultiFernet:
    """The process MultiFernet; cached per key set so settings overrides in tests take effect."""
    keys = tuple(getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or ())
    return _fernet_for(keys, settings.SECRET_KEY)


def encrypt_str(value: str) -> str:
    if value is None or value == "":
        return value
    return PREFIX + fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_str(value: str) -> str:
    """Decrypts a stored value; raises `InvalidToken` when no configured key opens it."""
    if not value or not value.startswith(PREFIX):
        return value
    return fernet().decrypt(value[len(PREFIX) :].encode("ascii")).decode("utf-8")


def rotate_str(value: str) -> str:
    """Re-encrypt with the current first key (for key-rotation jobs)."""
    if not value or not value.startswith(PREFIX):
        return encrypt_str(value) if value else value
    return PREFIX + fernet().rotate(value[len(PREFIX) :].encode("ascii")).decode("ascii")


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; reads give plaintext. Not searchable or orderable by value:
    look rows up by another column (e.g. a keyed hash) when you need equality search."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return value
        try:
            return decrypt_str(value)
        except InvalidToken:
            # A key was dropped too early: fail loudly rather than show ciphertext as data.
            raise ValueError(f"{self.model.__name__}.{self.name}: cannot decrypt with the configured keys") from None

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_str(str(value))

    def deconstruct(self) -> tuple[str, str, list, dict]:
        name, _path, args, kwargs = super().deconstruct()
        return name, "kaleem.crypto.EncryptedTextField", args, kwargs
