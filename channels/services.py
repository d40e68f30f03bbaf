"""Channel writes: connecting channels, ingesting webhooks, processing them into conversations,
delivering outbound messages, dead letters, WhatsApp templates and credential key rotation.

Reliability model (see docs/channels.md):
- ingest stores each dedupable item as a WebhookEvent (unique per channel) and enqueues after commit;
- processing claims events with conditional updates, one sender at a time (a cache lock per
  (channel, sender)) in provider-timestamp order; orphaned claims are swept and retried;
- every outbound Message gets one OutboundDelivery (unique per channel+message) whose claim makes
  sends idempotent; exhausted retries become a DeadLetter an admin replays."""

import hashlib
import logging
import mimetypes
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection
from django.db.models import F, Q
from django.utils import timezone

from channels import conf
from channels.models import Channel, ChannelKind, DeadLetter, OutboundDelivery, WebhookEvent, WhatsAppTemplate
from channels.providers import provider_for
from channels.providers.base import Ignored, Inbound, Item, StatusUpdate
from kaleem import metrics
from kaleem.caching import release_lock
from kaleem.core.errors import ApplicationError, NotFoundError
from kaleem.db import atomic, on_commit
from kaleem.http import CircuitBreaker, CircuitOpenError, ProviderError
from kaleem.outbox.services import relay_kicks_deferred
from kaleem.ratelimit import try_acquire_many

logger = logging.getLogger(__name__)

REQUIRED_CREDENTIALS = {
    ChannelKind.WEBCHAT: (),
    ChannelKind.TELEGRAM: ("bot_token",),
    ChannelKind.WHATSAPP: ("access_token", "phone_number_id", "app_secret"),
    ChannelKind.MESSENGER: ("access_token", "app_secret"),
    ChannelKind.INSTAGRAM: ("access_token", "app_secret"),
}
KNOWN_CREDENTIALS = frozenset(
    {
        "bot_token",
        "access_token",
        "phone_number_id",
        "page_id",
        "app_secret",
        "verify_token",
        "webhook_secret",
        "waba_id",
        "catalog_id",  # WhatsApp commerce catalog: product cards go out as native product messages
        "ig_user_id",
    }
)
_TELEGRAM_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


# ============================================================== channels


def channel_create(
    *,
    merchant: Any,
    kind: str,
    name: str,
    credentials: dict[str, str] | None = None,
    provider_base_url: str = "",
    settings: dict[str, Any] | None = None,
    public_key: str | None = None,
) -> Channel:
    if kind not in ChannelKind.values:
        raise ApplicationError("Unknown channel kind.", code="invalid", fields={"kind": ["Unknown kind."]})
    creds = _clean_credentials(kind, credentials or {})
    _check_base_url(provider_base_url)
    if kind in (ChannelKind.WHATSAPP, ChannelKind.MESSENGER, ChannelKind.INSTAGRAM):
        creds.setdefault("verify_token", secrets.token_urlsafe(24))
    if kind == ChannelKind.TELEGRAM:
        creds.setdefault("webhook_secret", secrets.token_urlsafe(32))
    channel = Channel(
        merchant_id=getattr(merchant, "pk", merchant),
        kind=kind,
        name=name.strip()[:120] or kind.title(),
        provider_base_url=provider_base_url,
        settings=settings or {},
        status=Channel.Status.ACTIVE if kind == ChannelKind.WEBCHAT else Channel.Status.PENDING,
        external_id=creds.get("phone_number_id") or creds.get("page_id") or creds.get("ig_user_id") or "",
    )
    if public_key:
        channel.public_key = public_key
    channel.credentials = creds
    channel.save()
    return channel


def _clean_credentials(kind: str, creds: dict[str, Any]) -> dict[str, str]:
    unknown = set(creds) - KNOWN_CREDENTIALS
    if unknown:
        raise ApplicationError(
            "Unknown credential fields.", code="invalid", fields={"credentials": [f"Unknown: {sorted(unknown)}"]}
        )
    clean = {k: str(v).strip() for k, v in creds.items() if v not in (None, "")}
    missing = [k for k in REQUIRED_CREDENTIALS[kind] if not clean.get(k)]
    if missing:
        raise ApplicationError(
            "Missing credentials for this channel kind.",
            code="invalid",
            fields={"credentials": [f"Required: {', '.join(missing)}"]},
        )
    if "webhook_secret" in clean and not _TELEGRAM_SECRET.match(clean["webhook_secret"]):
        raise ApplicationError(
            "webhook_secret must be 1-256 of A-Z a-z 0-9 _ -.", code="invalid", fields={"credentials": ["Invalid."]}
        )
    return clean


def channel_update(
    *,
    channel: Channel,
    name: str | None = None,
    status: str | None = None,
    credentials: dict[str, str] | None = None,
    provider_base_url: str | None = None,
    settings: dict[str, Any] | None = None,
) -> Channel:
    if name is not None:
        channel.name = name.strip()[:120] or channel.name
    if status is not None:
        if status not in (Channel.Status.ACTIVE, Channel.Status.DISABLED):
            raise ApplicationError("Status can be set to active or disabled.", code="invalid")
        channel.status = status
    if credentials is not None:
        # partial update: blank values keep the stored secret (the API never returns secrets)
        merged = {**channel.credentials, **{k: v for k, v in credentials.items() if v not in (None, "")}}
        channel.credentials = _clean_credentials(channel.kind, merged)
    if provider_base_url is not None:
        _check_base_url(provider_base_url)
        channel.provider_base_url = provider_base_url
    if settings is not None:
        channel.settings = settings
    channel.save()
    return channel


def _check_base_url(url: str) -> None:
    """A merchant-supplied provider URL must not reach our internal network (SSRF)."""
    if not url:
        return
    from kaleem.ssrf import UnsafeURLError, assert_public_url

    try:
        assert_public_url(url)
    except UnsafeURLError as exc:
        raise ApplicationError(exc.message, code="invalid", fields={"provider_base_url": [exc.message]}) from exc


def webhook_url(*, channel: Channel, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/webhooks/{channel.kind}/{channel.public_key}"


def channel_connect(*, channel: Channel, base_url: str) -> dict[str, Any]:
    """Telegram: setWebhook with the channel's secret token. Meta: nothing to call — return the
    callback URL and verify token the merchant pastes in the app dashboard (the GET handshake then
    marks the channel active). Webchat: active already."""
    url = webhook_url(channel=channel, base_url=base_url)
    if channel.kind == ChannelKind.TELEGRAM:
        from channels.providers.telegram import PROVIDER as telegram

        try:
            result = telegram.set_webhook(channel, url=url, secret_token=channel.credential("webhook_secret"))
        except ProviderError as exc:
            Channel.objects.filter(id=channel.id).update(status=Channel.Status.ERROR, last_error=str(exc)[:2000])
            raise ApplicationError(
                f"Telegram refused the webhook: {_provider_detail(exc)}", code="provider_error", status_code=502
            ) from exc
        if not result.get("ok"):
            raise ApplicationError(f"Telegram refused the webhook: {result}", code="provider_error", status_code=502)
        Channel.objects.filter(id=channel.id).update(
            status=Channel.Status.ACTIVE, connected_at=timezone.now(), last_error=""
        )
        return {"webhook_url": url, "status": Channel.Status.ACTIVE}
    if channel.is_meta:
        return {
            "callback_url": url,
            "verify_token": channel.credential("verify_token"),
            "status": channel.status,
            "subscribe_fields": ["messages"]
            if channel.kind == ChannelKind.WHATSAPP
            else ["messages", "messaging_postbacks"],
        }
    return {"status": channel.status}


def channel_mark_verified(*, channel: Channel) -> None:
    Channel.objects.filter(id=channel.id).exclude(status=Channel.Status.DISABLED).update(
        status=Channel.Status.ACTIVE, connected_at=timezone.now(), last_error=""
    )


def _provider_detail(exc: ProviderError) -> str:
    body = exc.body
    if isinstance(body, dict):
        return str(body.get("description") or (body.get("error") or {}).get("message") or body)[:300]
    return str(exc)


def channel_credentials_rotate() -> int:
    """Re-encrypt every channel's credentials under the first FIELD_ENCRYPTION_KEYS key."""
    count = 0
    for channel_id in Channel.objects.values_list("id", flat=True).iterator():
        channel = Channel.objects.get(id=channel_id)
        # saving re-encrypts: get_prep_value always encrypts with the current primary key
        Channel.objects.filter(id=channel_id).update(credentials_encrypted=channel.credentials_encrypted)
        count += 1
    return count


# ============================================================== inbound: ingest (hot path)

HEADER_ALLOW = ("Content-Type", "User-Agent", "X-Hub-Signature-256", "X-Request-ID", "X-Forwarded-For")


@dataclass
class IngestResult:
    created: list[str]
    duplicates: int


def webhook_ingest(
    *, channel: Channel, items: list[Item], raw: bytes, headers: dict[str, str], received_at: datetime | None = None
) -> IngestResult:
    """Store new items (duplicates by provider id are skipped) and enqueue processing after commit."""
    received_at = received_at or timezone.now()
    delivery_id = uuid.uuid4()
    try:
        body_text, encoding = raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        import base64

        body_text, encoding = base64.b64encode(raw).decode("ascii"), "base64"
    seen: set[str] = set()
    rows: list[WebhookEvent] = []
    for item in items:
        key = item.provider_event_id[:255]
        if key in seen:  # the same id twice in one batch
            continue
        seen.add(key)
        rows.append(
            WebhookEvent(
                id=uuid.uuid4(),
                merchant_id=channel.merchant_id,
                channel_id=channel.id,
                kind=channel.kind,
                provider_event_id=key,
                event_type=item.event_type,
                sender_id=item.sender_id[:128],
                delivery_id=delivery_id,
                raw_body=body_text if not rows else "",
                body_encoding=encoding,
                headers=headers if not rows else {},
                payload=item.payload,
                provider_timestamp=item.provider_timestamp,
                received_at=received_at,
                state=WebhookEvent.State.IGNORED if item.event_type in ("echo", "reaction", "other") else "pending",
            )
        )
    if not rows:
        return IngestResult(created=[], duplicates=0)
    created = _insert_new(rows)
    if created and rows[0].id not in created:
        # the row carrying the raw body was a duplicate: keep the body on the first new one
        first_new = next(r for r in rows if r.id in created)
        WebhookEvent.objects.filter(id=first_new.id).update(raw_body=body_text, headers=headers)
    # one entry per event; the publisher hands each sender to the worker once
    todo = [(str(r.channel_id), r.sender_id) for r in rows if r.id in created and r.state == WebhookEvent.State.PENDING]
    if todo:
        on_commit(lambda: _enqueue_processing(todo))
    return IngestResult(created=[str(r.id) for r in rows if r.id in created], duplicates=len(rows) - len(created))


def _insert_new(rows: list[WebhookEvent]) -> set[uuid.UUID]:
    """Insert, skipping rows whose (channel, provider_event_id) exists; returns ids inserted."""
    if len(rows) == 1 and not connection.in_atomic_block:
        # the common case (one message per delivery) in autocommit: one INSERT round trip, a
        # duplicate is the unique constraint answering — no transaction is left broken
        try:
            rows[0].save(force_insert=True)
        except IntegrityError:
            return set()
        return {rows[0].id}
    if connection.features.supports_ignore_conflicts:
        WebhookEvent.objects.bulk_create(rows, ignore_conflicts=True)
        if len(rows) == 1:
            exists = WebhookEvent.objects.filter(id=rows[0].id).exists()
            return {rows[0].id} if exists else set()
        return set(WebhookEvent.objects.filter(id__in=[r.id for r in rows]).values_list("id", flat=True))
    created: set[uuid.UUID] = set()
    for row in rows:
        try:
            with atomic():
                row.save(force_insert=True)
            created.add(row.id)
        except IntegrityError:
            continue
    return created


def _enqueue_processing(senders: list[tuple[str, str]]) -> None:
    from channels.enqueue import enqueue_processing

    enqueue_processing(senders)


# ============================================================== inbound: processing


class SenderBusy(Exception):
    """Another worker is processing this sender's events; retry shortly (keeps per-conversation order)."""


class EventRetry(Exception):
    def __init__(self, message: str, countdown: float) -> None:
        super().__init__(message)
        self.countdown = countdown


MAX_EVENT_ATTEMPTS = 5


def webhook_events_process(*, senders: list[tuple[str, str]] | None = None, event_ids: list[str] | None = None) -> int:
    """Process these senders (channel id, sender id) — or the senders of these events — each sender's
    pending events in provider order."""
    if senders is None:
        senders = list(
            WebhookEvent.objects.filter(id__in=event_ids or []).values_list("channel_id", "sender_id").distinct()
        )
    done = 0
    busy = False
    retry: EventRetry | None = None
    for channel_id, sender_id in dict.fromkeys((str(c), str(s)) for c, s in senders):
        try:
            done += sender_events_process(channel_id=channel_id, sender_id=sender_id)
        except SenderBusy:
            busy = True
        except EventRetry as exc:
            retry = exc
    if busy:
        raise SenderBusy("sender locked")
    if retry is not None:
        raise retry
    return done


BATCH = 50
_processing_channels: dict[str, tuple[float, Channel]] = {}


def _channel_for_processing(channel_id: Any) -> Channel | None:
    """The channel (merchant loaded, credentials decrypted) kept per worker process for
    WEBHOOK_CHANNEL_CACHE_SECONDS, like the webhook view's lookup: a busy channel costs no query
    and no decryption per event; a disabled channel or new credentials apply within that delay."""
    import time

    ttl = float(conf.setting("WEBHOOK_CHANNEL_CACHE_SECONDS", 5.0))
    key, now = str(channel_id), time.monotonic()
    hit = _processing_channels.get(key)
    if ttl > 0 and hit is not None and hit[0] > now:
        return hit[1]
    channel = Channel.objects.select_related("merchant").filter(id=channel_id).first()
    if channel is not None and ttl > 0:
        channel.credentials  # noqa: B018 - decrypt once
        if len(_processing_channels) >= 10_000:
            _processing_channels.clear()
        _processing_channels[key] = (now + ttl, channel)
    return channel


def sender_events_process(*, channel_id: Any, sender_id: str) -> int:
    lock_key = f"whlock:{channel_id}:{hashlib.sha1(sender_id.encode()).hexdigest()}"  # noqa: S324 - key only
    token = uuid.uuid4().hex
    if not cache.add(lock_key, token, timeout=conf.sender_lock_seconds()):
        raise SenderBusy(lock_key)
    try:
        channel = _channel_for_processing(channel_id)
        if channel is None:
            return 0
        # the task's commits (messages, replies, their events) kick the outbox relay once, at the end
        with relay_kicks_deferred():
            return _sender_events_process(channel, channel_id, sender_id)
    finally:
        release_lock(lock_key, token)


def _sender_events_process(channel: Channel, channel_id: Any, sender_id: str) -> int:
    processed = 0
    # quiet period 0: the assistant answers in this task, right after the sender's events are
    # recorded (no assistant hop); otherwise record_inbound schedules it after the quiet period.
    # Inline, a customer message's event is closed by the transaction that writes its answer (and
    # claims the message): a worker killed before that commit leaves it PROCESSING, the sweep hands
    # it back, and the still-unanswered message is answered then (never twice: the claim); a reply
    # committed but not yet sent is sent by its outbox event.
    inline = conf.inline_assistant()
    answer: dict[Any, Any] = {}  # conversation id -> its latest unanswered inbound message (InboundResult)
    unfinished: dict[Any, list[tuple[WebhookEvent, uuid.UUID]]] = {}  # by conversation id
    drained = False
    try:
        while True:
            stale = timezone.now() - timedelta(seconds=conf.processing_timeout())
            batch = (
                []
                if drained
                else list(
                    WebhookEvent.objects.filter(channel_id=channel_id, sender_id=sender_id)
                    .filter(
                        Q(state=WebhookEvent.State.PENDING)
                        | Q(state=WebhookEvent.State.PROCESSING, claimed_at__lt=stale)
                    )
                    .defer("raw_body", "headers")  # kept for audit and replay; processing reads the payload
                    .order_by("provider_timestamp", "received_at", "created_at")[:BATCH]
                )
            )
            # a short batch was everything pending: an event arriving meanwhile has its own task,
            # which waits for this lock (SenderBusy) and then processes it in order
            drained = len(batch) < BATCH
            if not batch:
                return processed
            for event in batch:
                claim = _event_claim(event, stale)
                if claim is None:
                    continue
                # raises EventRetry to stop this sender in order
                result = _event_process(channel, event, claim, schedule_turn=not inline, finish=not inline)
                processed += 1
                if not inline:
                    continue
                if result is None:  # not a customer message: already closed
                    continue
                message = result.message
                unfinished.setdefault(result.conversation.id, []).append((event, claim))
                if message.assistant_claimed_at is None and (message.text or message.attachments):
                    answer[result.conversation.id] = result
    finally:
        # the events recorded so far are answered and closed even when a later one must retry
        for conversation_id, recorded in answer.items():
            events = unfinished.get(conversation_id, [])

            def finish_with_reply(
                events: list[tuple[WebhookEvent, uuid.UUID]] = events, key: Any = conversation_id
            ) -> None:
                # in the reply's transaction: once the answer is committed the events are done (its
                # outbox event is the durable path to the customer); on_commit: kept only if committed
                for event, claim in events:
                    _event_finish(event, claim, WebhookEvent.State.DONE)
                on_commit(lambda: unfinished.pop(key, None))

            try:
                assistant_turn_and_deliver(
                    conversation_id=conversation_id,
                    message_id=recorded.message.id,
                    channel=channel,
                    # stored just now by this task: the turn need not read it back (a redelivered
                    # duplicate is read fresh)
                    recorded=recorded if recorded.created else None,
                    with_reply=finish_with_reply,
                )
            except Exception:  # the message stays unanswered and visible in the inbox, as before
                logger.exception("assistant turn failed for conversation %s", conversation_id)
        for events in unfinished.values():
            for event, claim in events:
                _event_finish(event, claim, WebhookEvent.State.DONE)


def _event_claim(event: WebhookEvent, stale: datetime) -> uuid.UUID | None:
    token = uuid.uuid4()
    claimed = (
        WebhookEvent.objects.filter(id=event.id)
        .filter(Q(state=WebhookEvent.State.PENDING) | Q(state=WebhookEvent.State.PROCESSING, claimed_at__lt=stale))
        .update(
            state=WebhookEvent.State.PROCESSING,
            claimed_at=timezone.now(),
            claim_token=token,
            attempts=F("attempts") + 1,
        )
    )
    return token if claimed else None


def _event_finish(event: WebhookEvent, token: uuid.UUID, state: str, error: str = "") -> None:
    WebhookEvent.objects.filter(id=event.id, claim_token=token).update(
        state=state, processed_at=timezone.now(), last_error=error[:2000], claim_token=None
    )


def _event_process(
    channel: Channel, event: WebhookEvent, token: uuid.UUID, *, schedule_turn: bool = True, finish: bool = True
) -> Any:
    """Apply one claimed event; returns the InboundResult of a customer message, else None.
    `finish=False`: a customer message's event is left PROCESSING for the caller to close."""
    provider = provider_for(channel.kind)
    try:
        parsed = provider.parse(event.payload, event.event_type)
        if isinstance(parsed, Ignored):
            _event_finish(event, token, WebhookEvent.State.IGNORED, parsed.reason)
            return
        if isinstance(parsed, StatusUpdate):
            _status_apply(channel, parsed)
            _event_finish(event, token, WebhookEvent.State.DONE)
            return
        result = _inbound_apply(channel, event, parsed, schedule_turn=schedule_turn)
        if finish:
            _event_finish(event, token, WebhookEvent.State.DONE)
        return result
    except (ProviderError, OSError) as exc:
        attempts = event.attempts + 1
        if attempts >= MAX_EVENT_ATTEMPTS:
            _event_finish(event, token, WebhookEvent.State.FAILED, f"{type(exc).__name__}: {exc}")
            return
        WebhookEvent.objects.filter(id=event.id, claim_token=token).update(
            state=WebhookEvent.State.PENDING, claim_token=None, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise EventRetry(str(exc), countdown=min(2**attempts, 60)) from exc
    except Exception as exc:  # a bug or bad payload: park the event, keep the sender's queue moving
        logger.exception("webhook event %s failed", event.id)
        _event_finish(event, token, WebhookEvent.State.FAILED, f"{type(exc).__name__}: {exc}")
    return None


def _ms_to_dt(ms: int) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None


def _status_apply(channel: Channel, update: StatusUpdate) -> None:
    from conversations.services import message_mark_delivery

    if update.status not in ("sent", "delivered", "read", "failed"):
        return
    message_mark_delivery(
        merchant=channel.merchant_id,
        channel=channel,
        provider_message_id=update.provider_message_id,
        status=update.status,
        at=_ms_to_dt(update.at_ms),
        error=update.error,
    )


def _inbound_apply(channel: Channel, event: WebhookEvent, inbound: Inbound, *, schedule_turn: bool = True) -> Any:
    from conversations.services import record_inbound

    attachments = list(inbound.attachments)
    for media in inbound.media:
        attachments.append(_media_store(channel, media))
    result = record_inbound(
        merchant=channel.merchant,
        channel=channel,
        external_id=inbound.external_id,
        text=inbound.text,
        provider_message_id=inbound.provider_message_id,
        elements=inbound.elements,
        attachments=attachments,
        contact_name=inbound.contact_name,
        language_hint=inbound.language_hint,
        sent_at=_ms_to_dt(inbound.sent_at_ms),
        received_at=event.received_at,
        schedule_turn=schedule_turn,
    )
    try:
        provider_for(channel.kind).after_inbound(channel, inbound)
    except ProviderError:
        logger.info("post-inbound provider call failed for %s", event.id, exc_info=True)
    return result


def assistant_turn_and_deliver(
    *,
    conversation_id: Any,
    message_id: Any,
    channel: Channel | None = None,
    recorded: Any = None,
    with_reply: Callable[[], None] | None = None,
) -> str:
    """The assistant's turn for a conversation, then its replies sent from this worker at once
    (the outbox stays their durable fallback). Used by the inline path above (with `recorded`, the
    InboundResult it has just stored, and `with_reply`, run in the transaction that writes the
    reply) and by the `conversations.assistant_turn` task."""
    from conversations.assistant.turns import conversation_turn_process

    started = timezone.now()
    # the replies' `message.outbound` events kick the relay once they are sent, not at commit: the
    # relay then finds their deliveries taken (no racing `deliver_message` task), and the inbox and
    # automations still hear of them at once; a process dying in between leaves them to the sweep
    with relay_kicks_deferred("message.outbound"):
        replies: list[Any] = []
        outcome = conversation_turn_process(
            conversation_id=conversation_id,
            message_id=message_id,
            replies=replies,
            recorded=recorded,
            with_reply=with_reply,
        )
        if outcome in ("answered", "human_owned"):  # human_owned may still have written a hand-off notice
            replies_deliver_now(conversation_id=conversation_id, since=started, channel=channel, messages=replies)
    return outcome


def _media_store(channel: Channel, media: dict[str, Any]) -> dict[str, Any]:
    """Fetch provider media and store it through the default storage (S3 in production)."""
    from kaleem.ssrf import UnsafeURLError

    provider = provider_for(channel.kind)
    try:
        content, mime = provider.fetch_media(channel, media)
    except UnsafeURLError as exc:
        return {"type": media.get("type", "file"), "error": str(exc), "caption": media.get("caption", "")}
    except ProviderError as exc:
        if exc.retryable:
            raise
        return {"type": media.get("type", "file"), "error": "unavailable", "caption": media.get("caption", "")}
    mime = media.get("mime_type") or mime
    extension = mimetypes.guess_extension(mime.split(";")[0].strip()) or ".bin"
    digest = hashlib.sha256(content).hexdigest()
    path = f"channels/{channel.merchant_id}/{channel.id}/{digest[:2]}/{digest}{extension}"
    if not default_storage.exists(path):
        path = default_storage.save(path, ContentFile(content))
    return {
        "type": media.get("type", "file"),
        "path": path,
        "url": default_storage.url(path),
        "mime_type": mime,
        "size": len(content),
        "sha256": digest,
        "caption": media.get("caption", ""),
        "filename": media.get("filename", ""),
    }


def webhook_events_sweep(*, pending_after: float | None = None) -> int:
    """Beat task body: re-enqueue pending events whose task was lost and processing orphaned by a
    killed worker (claim older than WEBHOOK_PROCESSING_TIMEOUT)."""
    now = timezone.now()
    stale = now - timedelta(seconds=conf.processing_timeout())
    if pending_after is None:
        pending_after = float(conf.setting("WEBHOOK_SWEEP_PENDING_AFTER", 10.0))
    orphaned = list(
        WebhookEvent.objects.filter(
            Q(state=WebhookEvent.State.PENDING, received_at__lt=now - timedelta(seconds=pending_after))
            | Q(state=WebhookEvent.State.PROCESSING, claimed_at__lt=stale)
        )
        .order_by("received_at")
        .values_list("channel_id", "sender_id")[:1000]
    )
    if orphaned:
        from channels.enqueue import _publish

        _publish([(str(channel_id), sender_id) for channel_id, sender_id in orphaned])
    return len(orphaned) + deliveries_sweep()


# ============================================================== outbound


class DeliveryRetry(Exception):
    def __init__(self, message: str, countdown: float) -> None:
        super().__init__(message)
        self.countdown = countdown


_FINAL_DELIVERY = (
    OutboundDelivery.State.SENT,
    OutboundDelivery.State.REFUSED,
    OutboundDelivery.State.DEAD,
    OutboundDelivery.State.UNKNOWN,
)
# Messenger/Instagram: a human agent may answer up to 7 days after the customer's last message
# with messaging_type=MESSAGE_TAG, tag=HUMAN_AGENT (protocols.md B5); bots only within 24 h.
HUMAN_AGENT_WINDOW_HOURS = 24 * 7


def outbox_message_outbound(event: Any) -> None:
    """Outbox handler for one `message.outbound` event (see `outbox_messages_outbound`)."""
    outbox_messages_outbound([event])


def outbox_messages_outbound(events: list[Any]) -> None:
    """Outbox batch handler for `message.outbound` — the durable fallback of the direct send.

    The worker that wrote a reply sends it right after commit (`replies_deliver_now`); when that
    worker already holds or finished the delivery there is nothing to do here. Otherwise (a reply
    written by the API, or the direct send never started) hand the send to the outbox queue so one
    slow provider never blocks the relay for other stores. Two queries per batch."""
    from channels.tasks import deliver_message

    wanted = []
    for event in events:
        payload = event.payload or {}
        try:
            message_id = str(uuid.UUID(str(payload.get("message_id"))))
            channel_id = str(uuid.UUID(str(payload.get("channel_id"))))
        except ValueError:  # not ours to send (malformed payload): never block the batch on it
            logger.warning("message.outbound event %s without valid ids: %r", getattr(event, "id", "?"), payload)
            continue
        wanted.append((message_id, channel_id))
    if not wanted:
        return
    channel_ids = {c for _m, c in wanted}
    webchat = {
        str(c)
        for c in Channel.objects.filter(id__in=channel_ids, kind=ChannelKind.WEBCHAT).values_list("id", flat=True)
    }
    # sent, refused, dead, unknown — or being sent (a claim that goes stale is swept)
    taken = {
        str(m)
        for m in OutboundDelivery.objects.filter(message_id__in=[m for m, c in wanted if c not in webchat])
        .exclude(state=OutboundDelivery.State.PENDING)
        .values_list("message_id", flat=True)
    }
    for message_id, channel_id in wanted:
        if channel_id in webchat:
            message_deliver(message_id=message_id)  # a local publish: no provider call to isolate
        elif message_id not in taken:
            deliver_message.delay(message_id, channel_id)


def _publish_webchat(message: Any) -> None:
    try:
        from channels.webchat.live import publish_message
    except ImportError:
        return
    publish_message(message)


def replies_deliver_now(
    *, conversation_id: Any, since: datetime, channel: Channel | None = None, messages: list[Any] | None = None
) -> int:
    """Send the replies written to a conversation since `since` from this worker, right after their
    commit — no outbox relay and no extra task on the way to the customer. The `message.outbound`
    outbox event stays the durable fallback: if this process dies first, the relay queues the send.
    `messages`: the replies as the turn wrote them (with their conversation), instead of reading them
    back. Returns the number of messages sent."""
    from conversations.models import Message

    if messages is not None:
        replies = [m for m in messages if m.direction == Message.Direction.OUTBOUND and m.kind == Message.Kind.MESSAGE]
    else:
        replies = list(
            Message.objects.select_related("conversation")
            .filter(
                conversation_id=conversation_id,
                direction=Message.Direction.OUTBOUND,
                kind=Message.Kind.MESSAGE,
                delivery_status=Message.Delivery.PENDING,
                created_at__gte=since,
            )
            .order_by("created_at")
        )
    sent = 0
    for index, message in enumerate(replies):
        if channel is not None and message.channel_id == channel.id:
            message.channel = channel  # already loaded and decrypted by the caller
        if message.channel.kind == ChannelKind.WEBCHAT:
            continue  # the outbox handler publishes to the widget's stream (once)
        try:
            sent += message_deliver(message=message) == OutboundDelivery.State.SENT
        except DeliveryRetry as exc:
            # rate limited / provider busy: this and the later replies go through the task, in order
            for offset, later in enumerate(replies[index:]):
                _enqueue_delivery(str(later.id), str(later.channel_id), countdown=exc.countdown + 0.05 * offset)
            break
        except Exception:  # the outbox fallback delivers it; never lose the reply to a bug here
            logger.exception("direct send of %s failed; the outbox relay will retry it", message.id)
    return sent


def message_deliver(*, message_id: Any = None, message: Any = None) -> str:
    """Send one outbound Message through its channel exactly once; returns the delivery state.

    Every provider call of a part is bracketed by conditional writes under the delivery's claim:
    `part_started_at` before the call, `parts_sent` + 1 (and the provider id) right after it. A
    later claim that finds `part_started_at` set knows that call's outcome is unknown (its worker
    died mid-call) and does not repeat it: the delivery ends `unknown` with a dead letter an operator
    replays or discards (docs/channels.md, "Exactly once").

    Raises DeliveryRetry when a later attempt may succeed (rate limit, provider down, circuit open)."""
    from conversations.models import Message

    if message is None:
        message = Message.objects.select_related("conversation", "channel").filter(id=message_id).first()
    if message is None or message.direction != Message.Direction.OUTBOUND or message.kind != Message.Kind.MESSAGE:
        return "skipped"
    channel = message.channel
    if channel.kind == ChannelKind.WEBCHAT:
        _publish_webchat(message)
        return "published"
    delivery = _delivery_claim(message)
    if isinstance(delivery, str):
        return delivery
    if delivery.part_started_at is not None:
        return _delivery_unknown(delivery, message, channel)
    provider = provider_for(channel.kind)
    if channel.status == Channel.Status.DISABLED:
        return _delivery_refuse(delivery, message, "channel_disabled", "The channel is disabled.")
    tag = ""
    if provider.window_hours and not _inside_window(message.conversation, provider.window_hours):
        human = message.sender == Message.Sender.AGENT
        if human and provider.human_agent_tag and _inside_window(message.conversation, HUMAN_AGENT_WINDOW_HOURS):
            tag = "HUMAN_AGENT"
        elif human and provider.human_agent_tag:
            return _delivery_refuse(
                delivery,
                message,
                "outside_human_agent_window",
                "More than 7 days since the customer's last message: the provider accepts no reply until "
                "the customer writes again.",
            )
        else:
            return _delivery_refuse(
                delivery,
                message,
                "outside_customer_service_window",
                "Outside the 24-hour customer-service window: send an approved template instead.",
            )
    recipient = message.conversation.external_id
    parts = provider.render(channel=channel, recipient=recipient, text=message.text, elements=message.elements or [])
    if not parts:
        return _delivery_refuse(delivery, message, "empty", "Nothing to send.")
    if tag:
        for part in parts:
            part.body.update({"messaging_type": "MESSAGE_TAG", "tag": tag})
    first_id = delivery.provider_message_id
    finished_at: datetime | None = None
    breaker = CircuitBreaker(f"ch:{channel.id}", provider=channel.kind)
    mine = OutboundDelivery.objects.filter(id=delivery.id, claim_token=delivery.claim_token)
    for index, part in enumerate(parts):
        if index < delivery.parts_sent:
            continue
        try:
            breaker.check()  # an open circuit must not burn rate-limit tokens on a request it will refuse
        except CircuitOpenError as exc:
            return _delivery_failed(delivery, message, exc, part.body)
        wait = _rate_limit(channel, provider, recipient)
        if wait > 0:
            _delivery_release(delivery, f"rate limited for {wait:.2f}s")
            raise DeliveryRetry("rate limited", countdown=wait)
        if not mine.filter(parts_sent=index).update(part_started_at=timezone.now()):
            return "busy"  # our claim was taken over (it went stale): the new holder decides
        try:
            provider_id = provider.send(channel, part)
        except ProviderError as exc:
            # the provider answered (or never got the request): nothing was accepted
            mine.update(part_started_at=None)
            return _delivery_failed(delivery, message, exc, part.body)
        first_id = first_id or provider_id
        done: dict[str, Any] = {"parts_sent": index + 1, "part_started_at": None, "provider_message_id": first_id}
        if index + 1 == len(parts):  # the last part: one write records it and closes the delivery
            finished_at = timezone.now()
            done.update(state=OutboundDelivery.State.SENT, sent_at=finished_at, last_error="", claim_token=None)
        mine.update(**done)
        delivery.parts_sent = index + 1
    if finished_at is None:  # every part was accepted by an earlier attempt
        finished_at = timezone.now()
        mine.update(state=OutboundDelivery.State.SENT, sent_at=finished_at, last_error="", claim_token=None)
    from conversations.services import message_mark_sent

    message_mark_sent(message_id=message.id, provider_message_id=first_id or None, sent_at=finished_at)
    return OutboundDelivery.State.SENT


def _delivery_claim(message: Any) -> OutboundDelivery | str:
    """The delivery row of `message`, claimed for this worker (state SENDING, a fresh claim token),
    or the state that makes a send pointless (sent, refused, dead, unknown, or "busy")."""
    now = timezone.now()
    token = uuid.uuid4()
    delivery = OutboundDelivery(
        merchant_id=message.merchant_id,
        channel_id=message.channel_id,
        message_id=message.id,
        conversation_id=message.conversation_id,
        state=OutboundDelivery.State.SENDING,
        claimed_at=now,
        claim_token=token,
        attempts=1,
    )
    try:
        if connection.in_atomic_block:
            with atomic():
                delivery.save(force_insert=True)  # the first attempt: created already claimed
        else:  # autocommit: one INSERT, a duplicate is the unique constraint answering
            delivery.save(force_insert=True)
        return delivery
    except IntegrityError:
        pass
    delivery = OutboundDelivery.objects.get(channel_id=message.channel_id, message_id=message.id)
    if delivery.state in _FINAL_DELIVERY:
        return delivery.state
    stale = now - timedelta(seconds=conf.delivery_claim_timeout())
    claimed = (
        OutboundDelivery.objects.filter(id=delivery.id)
        .filter(Q(state=OutboundDelivery.State.PENDING) | Q(state=OutboundDelivery.State.SENDING, claimed_at__lt=stale))
        .update(state=OutboundDelivery.State.SENDING, claimed_at=now, claim_token=token, attempts=F("attempts") + 1)
    )
    if not claimed:
        return "busy"
    delivery.refresh_from_db()
    return delivery


def _inside_window(conversation: Any, hours: int) -> bool:
    last = getattr(conversation, "last_inbound_at", None)
    return bool(last) and timezone.now() - last <= timedelta(hours=hours)


def _rate_limit(channel: Channel, provider: Any, recipient: str) -> float:
    """The channel's bucket and, where documented, the recipient's — one Redis round trip, all or
    nothing; a short wait is slept through, a longer one is returned for a rescheduled attempt."""
    import time

    buckets = [(f"ch:{channel.id}", *provider.channel_rate)]
    if provider.recipient_rate:
        buckets.append((f"ch:{channel.id}:to:{recipient}", *provider.recipient_rate))
    wait = try_acquire_many(buckets)
    if 0 < wait <= 2.0:
        time.sleep(wait)
        wait = try_acquire_many(buckets)
    return max(wait, 0.0)


def _delivery_release(delivery: OutboundDelivery, error: str) -> None:
    OutboundDelivery.objects.filter(
        id=delivery.id, state=OutboundDelivery.State.SENDING, claim_token=delivery.claim_token
    ).update(state=OutboundDelivery.State.PENDING, last_error=error[:2000], claim_token=None, part_started_at=None)


def _delivery_refuse(delivery: OutboundDelivery, message: Any, code: str, detail: str) -> str:
    from conversations.services import message_mark_failed

    OutboundDelivery.objects.filter(id=delivery.id).update(
        state=OutboundDelivery.State.REFUSED, last_error=code, claim_token=None
    )
    message_mark_failed(message_id=message.id, error=f"{code}: {detail}")
    return OutboundDelivery.State.REFUSED


def _delivery_unknown(delivery: OutboundDelivery, message: Any, channel: Channel) -> str:
    """The previous holder of this delivery died while part `parts_sent` was at the provider. Meta and
    Telegram offer no idempotency key, so a resend may message the customer twice: never automatic."""
    from conversations.services import message_mark_failed

    error = (
        f"unknown_delivery: the worker stopped while part {delivery.parts_sent + 1} was being sent "
        f"(started {delivery.part_started_at:%Y-%m-%d %H:%M:%S} UTC); the provider may or may not have "
        "delivered it. Replay to send it again, or discard."
    )
    with atomic():
        updated = OutboundDelivery.objects.filter(id=delivery.id, claim_token=delivery.claim_token).update(
            state=OutboundDelivery.State.UNKNOWN, last_error=error[:2000], claim_token=None
        )
        if not updated:
            return "busy"
        DeadLetter.objects.create(
            merchant_id=delivery.merchant_id,
            channel_id=delivery.channel_id,
            delivery=delivery,
            message_id=delivery.message_id,
            request={"part": delivery.parts_sent, "text": (message.text or "")[:500]},
            error=error,
            status_code=None,
            attempts=delivery.attempts,
        )
    message_mark_failed(message_id=message.id, error="unknown_delivery: the provider may not have received it")
    metrics.DEAD_LETTERS.labels(channel=channel.kind).inc()
    logger.warning("delivery of %s ended unknown (part %s in flight)", delivery.message_id, delivery.parts_sent)
    return OutboundDelivery.State.UNKNOWN


def _delivery_failed(delivery: OutboundDelivery, message: Any, exc: ProviderError, body: dict[str, Any]) -> str:
    error = f"{exc} {_provider_detail(exc)}".strip()
    if exc.retryable and delivery.attempts < conf.max_delivery_attempts():
        _delivery_release(delivery, error)
        countdown = exc.retry_after if exc.retry_after is not None else min(2**delivery.attempts, 60)
        raise DeliveryRetry(error, countdown=countdown) from exc
    return _dead_letter(delivery, message, exc, body, error)


def _dead_letter(delivery: OutboundDelivery, message: Any, exc: ProviderError, body: dict[str, Any], error: str) -> str:
    from conversations.services import message_mark_failed

    with atomic():
        OutboundDelivery.objects.filter(id=delivery.id).update(
            state=OutboundDelivery.State.DEAD, last_error=error[:2000], claim_token=None, part_started_at=None
        )
        DeadLetter.objects.create(
            merchant_id=delivery.merchant_id,
            channel_id=delivery.channel_id,
            delivery=delivery,
            message_id=delivery.message_id,
            request=_redact(body),
            error=error[:4000],
            status_code=exc.status_code,
            attempts=delivery.attempts,
        )
    message_mark_failed(message_id=message.id, error=error[:500])
    metrics.DEAD_LETTERS.labels(channel=message.channel.kind).inc()
    if isinstance(exc, CircuitOpenError):
        logger.warning("dead letter for %s: circuit open", delivery.message_id)
    return OutboundDelivery.State.DEAD


def _redact(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in (body or {}).items() if k not in ("access_token",)}


def deliveries_sweep() -> int:
    """Beat: re-queue sends whose claim went stale (the direct sender or a task's worker died)."""
    stale = timezone.now() - timedelta(seconds=conf.delivery_claim_timeout())
    rows = list(
        OutboundDelivery.objects.filter(state=OutboundDelivery.State.SENDING, claimed_at__lt=stale).values_list(
            "message_id", "channel_id"
        )[:500]
    )
    for message_id, channel_id in rows:
        _enqueue_delivery(str(message_id), str(channel_id))
    return len(rows)


def dead_letter_replay(*, merchant: Any, dead_letter_id: Any) -> DeadLetter:
    """Put the send back in the queue with fresh attempts; parts already sent are not repeated."""
    dead = DeadLetter.objects.for_merchant(merchant).filter(id=dead_letter_id).first()
    if dead is None:
        raise NotFoundError("Dead letter not found.")
    if dead.state != DeadLetter.State.OPEN:
        raise ApplicationError("This dead letter was already replayed or discarded.", code="conflict", status_code=409)
    with atomic():
        updated = DeadLetter.objects.filter(id=dead.id, state=DeadLetter.State.OPEN).update(
            state=DeadLetter.State.REPLAYED, replayed_at=timezone.now()
        )
        if not updated:
            raise ApplicationError("This dead letter was already replayed.", code="conflict", status_code=409)
        if dead.delivery_id:
            # an operator's replay of an `unknown` delivery is the explicit decision to send it again
            OutboundDelivery.objects.filter(id=dead.delivery_id).update(
                state=OutboundDelivery.State.PENDING, attempts=0, last_error="", claim_token=None, part_started_at=None
            )
        message_id, channel_id = str(dead.message_id), str(dead.channel_id)
        on_commit(lambda: _enqueue_delivery(message_id, channel_id))
    dead.refresh_from_db()
    return dead


def dead_letter_discard(*, merchant: Any, dead_letter_id: Any) -> DeadLetter:
    dead = DeadLetter.objects.for_merchant(merchant).filter(id=dead_letter_id).first()
    if dead is None:
        raise NotFoundError("Dead letter not found.")
    DeadLetter.objects.filter(id=dead.id, state=DeadLetter.State.OPEN).update(state=DeadLetter.State.DISCARDED)
    dead.refresh_from_db()
    return dead


def _enqueue_delivery(message_id: str, channel_id: str, countdown: float = 0.0) -> None:
    from channels.tasks import deliver_message

    if countdown > 0:
        deliver_message.apply_async(args=[message_id, channel_id], countdown=countdown)
    else:
        deliver_message.delay(message_id, channel_id)


# ============================================================== WhatsApp templates

_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


def templates_sync(*, channel: Channel) -> int:
    if channel.kind != ChannelKind.WHATSAPP:
        raise ApplicationError("Templates exist only for WhatsApp channels.", code="invalid")
    if not channel.credential("waba_id"):
        raise ApplicationError("Set the WhatsApp Business Account id (waba_id) first.", code="invalid")
    from channels.providers.whatsapp import PROVIDER as whatsapp

    try:
        remote = whatsapp.templates_list(channel)
    except ProviderError as exc:
        raise ApplicationError(
            f"WhatsApp refused the template sync: {_provider_detail(exc)}", code="provider_error", status_code=502
        ) from exc
    now = timezone.now()
    for item in remote:
        name, language = str(item.get("name") or ""), str(item.get("language") or "")
        if not name or not language:
            continue
        components = item.get("components") or []
        body = next((c for c in components if str(c.get("type", "")).upper() == "BODY"), {})
        count = len(set(_PLACEHOLDER.findall(str(body.get("text") or ""))))
        fields = {
            "status": str(item.get("status") or ""),
            "category": str(item.get("category") or ""),
            "provider_id": str(item.get("id") or ""),
            "components": components,
            "parameter_count": count,
            "synced_at": now,
        }
        updated = WhatsAppTemplate.objects.filter(channel=channel, name=name, language=language).update(**fields)
        if not updated:
            try:
                with atomic():
                    WhatsAppTemplate.objects.create(
                        merchant_id=channel.merchant_id, channel=channel, name=name, language=language, **fields
                    )
            except IntegrityError:
                WhatsAppTemplate.objects.filter(channel=channel, name=name, language=language).update(**fields)
    return len(remote)


def template_send(
    *, merchant: Any, channel: Channel, template_id: Any, to: str, parameters: list[str] | None = None
) -> str:
    """Send an approved template (allowed outside the 24-hour window); returns the provider message id."""
    template = WhatsAppTemplate.objects.for_merchant(merchant).filter(id=template_id, channel=channel).first()
    if template is None:
        raise NotFoundError("Template not found.")
    if template.status.upper() != "APPROVED":
        raise ApplicationError("Only approved templates can be sent.", code="template_not_approved")
    parameters = [str(p) for p in (parameters or [])]
    if len(parameters) != template.parameter_count:
        raise ApplicationError(
            f"This template needs {template.parameter_count} parameters.",
            code="invalid",
            fields={"parameters": [f"Expected {template.parameter_count}."]},
        )
    to = re.sub(r"[^\d]", "", to or "")
    if not 6 <= len(to) <= 20:
        raise ApplicationError("Recipient must be a phone number in international format.", code="invalid")
    from channels.providers.whatsapp import PROVIDER as whatsapp

    part = whatsapp.template_part(recipient=to, name=template.name, language=template.language, parameters=parameters)
    try:
        return whatsapp.send(channel, part)
    except ProviderError as exc:
        raise ApplicationError(
            f"WhatsApp refused the template: {_provider_detail(exc)}", code="provider_error", status_code=502
        ) from exc
