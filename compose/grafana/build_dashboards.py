"""Writes the provisioned Grafana dashboards (compose/grafana/dashboards/*.json).

Dashboards are generated so that panels stay consistent (datasource uids, units, layout) and so the
metric names they use live in one reviewable place. Edit here, then run:
    python compose/grafana/build_dashboards.py
kaleem/tests/test_ops_dashboards.py checks every Prometheus query against the app's live /metrics.
"""

import json
from pathlib import Path

OUT = Path(__file__).resolve().parent / "dashboards"
PROM = {"type": "prometheus", "uid": "prometheus"}
LOKI = {"type": "loki", "uid": "loki"}


def panel(title, exprs, *, unit="short", kind="timeseries", legend=None, ds=PROM, w=12, h=8, thresholds=None):
    if isinstance(exprs, str):
        exprs = [exprs]
    legends = legend if isinstance(legend, list) else [legend] * len(exprs)
    targets = []
    for i, expr in enumerate(exprs):
        target = {"refId": chr(65 + i), "expr": expr, "datasource": ds}
        if legends[i]:
            target["legendFormat"] = legends[i]
        targets.append(target)
    defaults = {"unit": unit}
    if thresholds:
        defaults["thresholds"] = {
            "mode": "absolute",
            "steps": [{"color": "green", "value": None}] + [{"color": c, "value": v} for v, c in thresholds],
        }
    return {
        "type": kind,
        "title": title,
        "datasource": ds,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if kind == "timeseries" else {},
        "gridPos": {"w": w, "h": h},
    }


def logs(title, expr, *, w=24, h=10):
    return {
        "type": "logs",
        "title": title,
        "datasource": LOKI,
        "targets": [{"refId": "A", "expr": expr, "datasource": LOKI}],
        "options": {"showTime": True, "wrapLogMessage": True, "sortOrder": "Descending"},
        "gridPos": {"w": w, "h": h},
    }


def dashboard(uid, title, panels, tags):
    x = y = 0
    row_h = 0
    for i, p in enumerate(panels, start=1):
        p["id"] = i
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if x + w > 24:
            x, y = 0, y + row_h
            row_h = 0
        p["gridPos"].update(x=x, y=y)
        x += w
        row_h = max(row_h, h)
    return {
        "uid": uid,
        "title": title,
        "tags": ["kaleem", *tags],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": panels,
    }


NOT_PROBES = 'view!~"healthz|readyz|prometheus-django-metrics"'

API = dashboard(
    "kaleem-api",
    "Kaleem — API health",
    [
        panel(
            "5xx ratio (5m)",
            "kaleem:api_5xx_ratio:rate5m",
            unit="percentunit",
            kind="stat",
            w=6,
            thresholds=[(0.005, "orange"), (0.01, "red")],
        ),
        panel(
            "p95 latency (5m)",
            "kaleem:api_latency_seconds:p95_5m",
            unit="s",
            kind="stat",
            w=6,
            thresholds=[(0.2, "orange"), (0.3, "red")],
        ),
        panel("Requests / s", "kaleem:api_requests:rate5m", unit="reqps", kind="stat", w=6),
        panel("Replicas up", 'sum(up{job="kaleem-api"})', kind="stat", w=6),
        panel(
            "Responses by status",
            f"sum by (status) (rate(django_http_responses_total_by_status_view_method_total{{{NOT_PROBES}}}[5m]))",
            unit="reqps",
            legend="{{status}}",
        ),
        panel(
            "Latency p50 / p95 / p99",
            [
                f"histogram_quantile({q}, sum by (le) (rate(django_http_requests_latency_seconds_by_view_method_bucket{{{NOT_PROBES}}}[5m])))"
                for q in ("0.5", "0.95", "0.99")
            ],
            unit="s",
            legend=["p50", "p95", "p99"],
        ),
        panel(
            "p95 by view (top 10)", "topk(10, kaleem:api_latency_seconds_by_view:p95_5m)", unit="s", legend="{{view}}"
        ),
        panel(
            "5xx by view",
            f'sum by (view) (rate(django_http_responses_total_by_status_view_method_total{{status=~"5..",{NOT_PROBES}}}[5m]))',
            unit="reqps",
            legend="{{view}}",
        ),
        panel(
            "Request body size p95",
            "histogram_quantile(0.95, sum by (le) (rate(django_http_requests_body_total_bytes_bucket[5m])))",
            unit="bytes",
        ),
        panel(
            "Requests by method",
            "sum by (method) (rate(django_http_requests_total_by_method_total[5m]))",
            unit="reqps",
            legend="{{method}}",
        ),
        panel(
            "Cache hit ratio (L1 / L2)",
            "kaleem:cache_hit_ratio:rate10m",
            unit="percentunit",
            legend="{{layer}}",
        ),
        panel("Redis cache (L2) up", "min(kaleem_cache_l2_up)", kind="stat", w=6),
        panel(
            "Cache errors / s",
            "sum by (operation) (rate(kaleem_cache_errors_total[5m]))",
            unit="ops",
            w=6,
            legend="{{operation}}",
        ),
        panel(
            "API container CPU",
            'sum by (name) (rate(container_cpu_usage_seconds_total{container_label_com_docker_compose_service="api"}[5m]))',
            unit="percentunit",
            legend="{{name}}",
        ),
        panel(
            "API container memory",
            'sum by (name) (container_memory_working_set_bytes{container_label_com_docker_compose_service="api"})',
            unit="bytes",
            legend="{{name}}",
        ),
        logs("API errors", '{service="api"} | json | level=~"ERROR|CRITICAL"'),
    ],
    ["api"],
)

ASSISTANT = dashboard(
    "kaleem-assistant",
    "Kaleem — Assistant quality",
    [
        panel(
            "First response p95 (5m)",
            "max(kaleem:first_response_seconds:p95_5m)",
            unit="s",
            kind="stat",
            w=6,
            thresholds=[(1, "orange"), (2, "red")],
        ),
        panel(
            "Within 2 s (1h)",
            "1 - kaleem:first_response_slow_ratio:rate1h",
            unit="percentunit",
            kind="stat",
            w=6,
        ),
        panel(
            "Answer coverage (1h)",
            'sum(increase(kaleem_assistant_turns_total{outcome="answered"}[1h])) / sum(increase(kaleem_assistant_turns_total[1h]))',
            unit="percentunit",
            kind="stat",
            w=6,
            thresholds=[(0.85, "green")],
        ),
        panel(
            "Hand-offs (24h)",
            "sum(increase(kaleem_handoffs_total[24h]))",
            kind="stat",
            w=6,
        ),
        panel("First response p95 by channel", "kaleem:first_response_seconds:p95_5m", unit="s", legend="{{channel}}"),
        panel(
            "First response heatmap",
            "sum by (le) (rate(kaleem_first_response_seconds_bucket[5m]))",
            kind="heatmap",
            legend="{{le}}",
        ),
        panel(
            "Turns by outcome",
            "sum by (outcome) (rate(kaleem_assistant_turns_total[5m]))",
            unit="ops",
            legend="{{outcome}}",
        ),
        panel(
            "Turns by intent",
            "sum by (intent) (rate(kaleem_assistant_turns_total[5m]))",
            unit="ops",
            legend="{{intent}}",
        ),
        panel(
            "Assistant turn time p95",
            "histogram_quantile(0.95, sum by (le) (rate(kaleem_assistant_turn_seconds_bucket[5m])))",
            unit="s",
        ),
        panel(
            "Hand-offs by reason", "sum by (reason) (rate(kaleem_handoffs_total[1h]))", unit="ops", legend="{{reason}}"
        ),
        panel("Search p95 by mode", "kaleem:search_seconds:p95_5m", unit="s", legend="{{mode}}"),
        panel(
            "LLM tokens / hour by merchant (top 10)",
            "topk(10, sum by (merchant) (increase(kaleem_llm_tokens_total[1h])))",
            legend="{{merchant}}",
        ),
    ],
    ["assistant"],
)

CHANNELS = dashboard(
    "kaleem-channels",
    "Kaleem — Channels and webhooks",
    [
        panel("Webhooks by kind and outcome", "kaleem:webhooks:rate10m", unit="ops", legend="{{kind}} {{outcome}}"),
        panel("Rejected ratio by kind", "kaleem:webhook_rejected_ratio:rate10m", unit="percentunit", legend="{{kind}}"),
        panel(
            "Webhook ack p95 by kind",
            "histogram_quantile(0.95, sum by (le, kind) (rate(kaleem_webhook_ack_seconds_bucket[5m])))",
            unit="s",
            legend="{{kind}}",
        ),
        panel(
            "Messages in / out by channel",
            "sum by (channel, direction) (rate(kaleem_messages_total[5m]))",
            unit="ops",
            legend="{{channel}} {{direction}}",
        ),
        panel(
            "Provider errors",
            "sum by (provider, reason) (rate(kaleem_provider_errors_total[5m]))",
            unit="ops",
            legend="{{provider}} {{reason}}",
        ),
        panel("Circuit breakers open", "max by (provider) (kaleem_circuit_open)", legend="{{provider}}"),
        panel(
            "Dead letters (1h)",
            "sum by (channel) (increase(kaleem_dead_letters_total[1h]))",
            legend="{{channel}}",
        ),
        panel("Outbox dead events", "max(kaleem_outbox_dead)", kind="stat"),
        logs("Webhook rejections", '{service="api"} | json | logger=~"channels.*" |~ "(?i)signature|rejected"'),
    ],
    ["channels"],
)

CELERY = dashboard(
    "kaleem-celery",
    "Kaleem — Celery and outbox",
    [
        panel("Workers up", "kaleem:celery_workers_up:sum", kind="stat", w=6, thresholds=[(0, "red"), (1, "green")]),
        panel("Outbox backlog", "kaleem:outbox_backlog:max", kind="stat", w=6),
        panel("Outbox lag p95", "kaleem:outbox_lag_seconds:p95_5m", unit="s", kind="stat", w=6),
        panel("Outbox dead", "max(kaleem_outbox_dead)", kind="stat", w=6),
        panel("Queue backlog", "kaleem:celery_queue_backlog:max", legend="{{queue}}"),
        panel(
            "Queue backlog (in-app sampler)",
            "max by (queue) (kaleem_celery_queue_backlog)",
            legend="{{queue}}",
        ),
        panel(
            "Outbox delivered by event",
            "sum by (event_type) (rate(kaleem_outbox_delivered_total[5m]))",
            unit="ops",
            legend="{{event_type}}",
        ),
        panel(
            "Outbox failures",
            "sum by (event_type, outcome) (rate(kaleem_outbox_failures_total[5m]))",
            unit="ops",
            legend="{{event_type}} {{outcome}}",
        ),
        panel(
            "Cache warm-up loads",
            "sum by (namespace) (increase(kaleem_cache_warmed_total[15m]))",
            legend="{{namespace}}",
        ),
        panel(
            "Worker container memory",
            'sum by (name) (container_memory_working_set_bytes{container_label_com_docker_compose_service=~"worker|beat"})',
            unit="bytes",
            legend="{{name}}",
        ),
        logs("Worker errors", '{service=~"worker|beat"} | json | level=~"ERROR|CRITICAL|WARNING"'),
    ],
    ["celery"],
)

BUSINESS = dashboard(
    "kaleem-business",
    "Kaleem — Business KPIs",
    [
        panel(
            "Inbound messages (24h)",
            'sum(increase(kaleem_messages_total{direction="in"}[24h]))',
            kind="stat",
            w=6,
        ),
        panel(
            "Replies sent (24h)",
            'sum(increase(kaleem_messages_total{direction="out"}[24h]))',
            kind="stat",
            w=6,
        ),
        panel(
            "Answer coverage (24h)",
            'sum(increase(kaleem_assistant_turns_total{outcome="answered"}[24h])) / sum(increase(kaleem_assistant_turns_total[24h]))',
            unit="percentunit",
            kind="stat",
            w=6,
        ),
        panel(
            "Hand-off rate (24h)",
            'sum(increase(kaleem_assistant_turns_total{outcome="handoff"}[24h])) / sum(increase(kaleem_assistant_turns_total[24h]))',
            unit="percentunit",
            kind="stat",
            w=6,
        ),
        panel(
            "Messages per hour by channel",
            "sum by (channel) (increase(kaleem_messages_total[1h]))",
            legend="{{channel}}",
        ),
        panel(
            "First responses within 2 s",
            "1 - kaleem:first_response_slow_ratio:rate1h",
            unit="percentunit",
        ),
        panel(
            "Catalog import rows",
            "sum by (source, outcome) (increase(kaleem_import_rows_total[1h]))",
            legend="{{source}} {{outcome}}",
        ),
        panel(
            "Products synced from platforms",
            "sum by (platform, outcome) (increase(kaleem_sync_products_total[1h]))",
            legend="{{platform}} {{outcome}}",
        ),
        panel(
            "LLM tokens per day",
            "sum by (kind) (increase(kaleem_llm_tokens_total[24h]))",
            legend="{{kind}}",
        ),
    ],
    ["business"],
)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, board in {
        "api-health": API,
        "assistant-quality": ASSISTANT,
        "channels-webhooks": CHANNELS,
        "celery": CELERY,
        "business-kpis": BUSINESS,
    }.items():
        (OUT / f"{name}.json").write_text(json.dumps(board, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {name}.json ({len(board['panels'])} panels)")


if __name__ == "__main__":
    main()
