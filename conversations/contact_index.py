"""Blind index of contact names, so the inbox can search names that are encrypted at rest.

A name is normalised like catalog search text (`catalog.search.normalize.normalize_text`: NFKC,
no diacritics/tatweel — "محمّد" = "محمد" —, unified alef/yeh/teh marbuta, lowercase), split into
tokens; each token, its form without the Arabic article ("العتيبي" → "عتيبي") and every prefix of
3+ characters is stored as HMAC-SHA256(key, "<store id>:<token>") truncated to 128 bits
(`ContactNameToken`). A search term is normalised the same way and looked up by its digest, so
"محمد", "Moham" or "العتيبي" find "محمّد العتيبي" / "Mohammed" without any name being decrypted in
the database, and the same name in two stores gives different digests.

The key is derived from SECRET_KEY (label-separated from the field-encryption key): rotating
SECRET_KEY needs `manage.py contact_name_index_rebuild`. What the index reveals to someone with the
database but not the key: which contacts of a store share a name token or a 3+ letter prefix.
"""

import hashlib
import hmac
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError

from catalog.search.normalize import normalize_text
from conversations.models import Contact, ContactNameToken
from kaleem.db import atomic

MIN_PREFIX = 3
MAX_TOKENS = 6  # a name longer than this is indexed by its first six words
MAX_TOKEN_LENGTH = 24
MAX_QUERY_TOKENS = 4
_WORD = re.compile(r"\w+", re.UNICODE)
_ARTICLE = "ال"


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.sha256(f"kaleem-contact-name-index:{secret}".encode()).digest()


def name_digest(*, merchant_id: Any, token: str) -> str:
    message = f"{merchant_id}:{token}".encode()
    return hmac.new(_key(settings.SECRET_KEY), message, hashlib.sha256).hexdigest()[:32]


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(normalize_text(text or "")) if not w.isdigit() or len(w) >= MIN_PREFIX]


def name_terms(name: str) -> set[str]:
    """What a name is findable by: its tokens, article-less forms and 3+ character prefixes."""
    terms: set[str] = set()
    for word in _words(name)[:MAX_TOKENS]:
        word = word[:MAX_TOKEN_LENGTH]
        forms = {word}
        if word.startswith(_ARTICLE) and len(word) - len(_ARTICLE) >= MIN_PREFIX:
            forms.add(word[len(_ARTICLE) :])
        for form in forms:
            terms.add(form)
            terms.update(form[:n] for n in range(MIN_PREFIX, len(form)))
    return terms


def query_digests(*, merchant_id: Any, query: str) -> list[str]:
    """Digests a search must all match (one per typed word, at most four); empty when the query
    has no word the index can answer (a 1–2 letter fragment only matches a whole 1–2 letter word)."""
    words = [w[:MAX_TOKEN_LENGTH] for w in _words(query)][:MAX_QUERY_TOKENS]
    return [name_digest(merchant_id=merchant_id, token=w) for w in dict.fromkeys(words)]


def contact_name_index_update(*, contact: Contact, created: bool = False) -> None:
    """Make the contact's index rows match its current name (called by the contact services
    whenever a name is set; idempotent, safe against a concurrent update of the same contact)."""
    wanted = _name_digests(contact)
    rows = ContactNameToken.objects.filter(merchant_id=contact.merchant_id, contact=contact)
    existing = set() if created else set(rows.values_list("digest", flat=True))
    if existing - wanted:
        rows.filter(digest__in=existing - wanted).delete()
    _create(contact=contact, digests=wanted - existing)


def contact_name_index_create(*, contact: Contact) -> None:
    """The index rows of a contact created in the caller's transaction: one INSERT, inside that
    transaction (no other writer can know the new contact yet, so no conflict to recover from)."""
    ContactNameToken.objects.bulk_create(_token_rows(contact=contact, digests=_name_digests(contact)))


def _name_digests(contact: Contact) -> set[str]:
    return {name_digest(merchant_id=contact.merchant_id, token=t) for t in name_terms(contact.name)}


def _token_rows(*, contact: Contact, digests: Iterable[str]) -> list[ContactNameToken]:
    return [ContactNameToken(merchant_id=contact.merchant_id, contact=contact, digest=d) for d in digests]


def _create(*, contact: Contact, digests: Iterable[str]) -> None:
    new = _token_rows(contact=contact, digests=digests)
    if not new:
        return
    try:
        with atomic():
            ContactNameToken.objects.bulk_create(new)
    except IntegrityError:  # a concurrent update wrote some of them: add the rest one by one
        for row in new:
            try:
                with atomic():
                    row.save(force_insert=True)
            except IntegrityError:
                continue


def contact_name_index_rebuild(*, merchant: Any = None, batch: int = 500) -> int:
    """Backfill / re-key: recompute every contact's rows (all stores, or one), `batch` contacts per
    transaction (one delete + one insert). Returns the number of contacts indexed."""
    contacts = Contact.objects.all() if merchant is None else Contact.objects.for_merchant(merchant)
    contacts = contacts.only("id", "merchant_id", "name").order_by("id")
    done, last = 0, None
    while True:
        page = list((contacts.filter(id__gt=last) if last else contacts)[:batch])
        if not page:
            return done
        _rebuild_batch(page)
        done += len(page)
        last = page[-1].pk


def _rebuild_batch(contacts: list[Contact]) -> None:
    rows = [
        ContactNameToken(merchant_id=c.merchant_id, contact=c, digest=name_digest(merchant_id=c.merchant_id, token=t))
        for c in contacts
        for t in name_terms(c.name)
    ]
    try:
        with atomic():
            ContactNameToken.objects.filter(contact__in=[c.pk for c in contacts]).delete()
            ContactNameToken.objects.bulk_create(rows, batch_size=1000)
    except IntegrityError:  # a contact of this batch was re-indexed concurrently: go one by one
        for contact in contacts:
            contact_name_index_update(contact=contact)
