"""Every business and pipeline metric, defined once. Labels are bounded: channel kind, intent,
outcome, event type, provider, merchant slug only where the merchant count is bounded by plan."""

from prometheus_client import Counter, Gauge, Histogram

# --- webhooks and channels
WEBHOOKS = Counter(
    "kaleem_webhooks_total", "Inbound webhook deliveries", ["kind", "outcome"]
)  # accepted|rejected|duplicate|oversize
WEBHOOK_ACK_SECONDS = Histogram(
    "kaleem_webhook_ack_seconds",
    "Time to acknowledge a webhook",
    ["kind"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
MESSAGES = Counter("kaleem_messages_total", "Messages by channel and direction", ["channel", "direction"])
PROVIDER_ERRORS = Counter("kaleem_provider_errors_total", "Provider API errors", ["provider", "reason"])
CIRCUIT_STATE = Gauge("kaleem_circuit_open", "1 when a provider circuit breaker is open", ["provider"])
DEAD_LETTERS = Counter("kaleem_dead_letters_total", "Outbound sends that exhausted retries", ["channel"])

# --- assistant quality
FIRST_RESPONSE_SECONDS = Histogram(
    "kaleem_first_response_seconds",
    "Inbound received to reply handed to the channel",
    ["channel"],
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0),
)
ASSISTANT_TURNS = Counter(
    "kaleem_assistant_turns_total", "Assistant turns by intent and outcome", ["intent", "outcome"]
)  # answered|fallback|handoff
HANDOFFS = Counter("kaleem_handoffs_total", "Conversations handed to a human", ["channel", "reason"])
ASSISTANT_TURN_SECONDS = Histogram(
    "kaleem_assistant_turn_seconds",
    "Assistant processing time per turn",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.0),
)
LLM_TOKENS = Counter("kaleem_llm_tokens_total", "LLM tokens spent", ["merchant", "kind"])

# --- outbox
OUTBOX_DELIVERED = Counter("kaleem_outbox_delivered_total", "Outbox events delivered", ["event_type"])
OUTBOX_FAILURES = Counter("kaleem_outbox_failures_total", "Outbox delivery failures", ["event_type", "outcome"])
OUTBOX_LAG = Histogram(
    "kaleem_outbox_lag_seconds", "Event creation to delivery", buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0)
)
OUTBOX_BACKLOG = Gauge("kaleem_outbox_backlog", "Pending outbox events", multiprocess_mode="livemax")
OUTBOX_DEAD = Gauge("kaleem_outbox_dead", "Outbox events in dead-letter state", multiprocess_mode="livemax")

# --- cache
CACHE_REQUESTS = Counter(
    "kaleem_cache_requests_total", "Read-through cache lookups", ["layer", "result"]
)  # l1|l2, hit|miss
CACHE_ERRORS = Counter(
    "kaleem_cache_errors_total", "L2 (Redis) cache operations that failed and fell through", ["operation"]
)  # get|set|version|invalidate
CACHE_L2_UP = Gauge("kaleem_cache_l2_up", "1 while the L2 (Redis) cache answers, 0 while bypassed", multiprocess_mode="livemin")
CACHE_WARMED = Counter("kaleem_cache_warmed_total", "Hot keys loaded by the warm-up beat task", ["namespace"])

# --- catalog / search / sync
SEARCH_SECONDS = Histogram(
    "kaleem_search_seconds", "Catalog search latency", ["mode"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
)
IMPORT_ROWS = Counter("kaleem_import_rows_total", "Catalog import rows", ["source", "outcome"])
SYNC_PRODUCTS = Counter(
    "kaleem_sync_products_total", "Products synced from commerce platforms", ["platform", "outcome"]
)
CELERY_QUEUE_BACKLOG = Gauge(
    "kaleem_celery_queue_backlog", "Messages waiting in a Celery queue", ["queue"], multiprocess_mode="livemax"
)
