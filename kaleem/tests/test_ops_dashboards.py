"""Every metric a Grafana panel or a Prometheus rule queries exists: in the live /metrics of the app
(after real traffic), in the kaleem/metrics.py registry (families with no observation yet print no
samples), as a recording rule we define, or in a named exporter of the compose stack."""

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import Counter, Gauge, Histogram

from kaleem import caching, metrics

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((REPO / "compose/grafana/dashboards").glob("*.json"))
RULES = sorted((REPO / "compose/prometheus/rules").glob("*.yml"))

# Metrics that come from the exporters in compose/docker-compose.yml, not from the app.
EXPORTER_PREFIXES = {
    "node_": "node-exporter",
    "container_": "cadvisor",
    "redis_": "redis-exporter",
    "mongodb_": "mongodb-exporter",
}
BUILTIN_SERIES = {"up"}  # Prometheus' own per-target series

PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    "inf", "nan", "le",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """Metric names referenced by a PromQL expression (functions, labels, strings, durations removed)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings (label values, label_replace args)
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges and subqueries
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\b\d+(?:\.\d+)?(?:[eE][-+]?\d+|ms|[smhdwy])?\b", " ", expr)  # numbers, offsets
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        word = match.group(0)
        rest = expr[match.end() :].lstrip()
        if rest.startswith("("):  # a function call
            continue
        if word.lower() in PROMQL_WORDS:
            continue
        names.add(word)
    return names


def registry_sample_names() -> set[str]:
    """Sample names every kaleem/metrics.py family can print, observed or not."""
    names = set()
    for obj in vars(metrics).values():
        if isinstance(obj, Counter):
            names |= {f"{obj._name}_total", f"{obj._name}_created"}
        elif isinstance(obj, Histogram):
            names |= {f"{obj._name}_{s}" for s in ("bucket", "count", "sum", "created")}
        elif isinstance(obj, Gauge):
            names.add(obj._name)
    return names


def recording_rules() -> set[str]:
    names = set()
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            names |= {r["record"] for r in group["rules"] if "record" in r}
    return names


def prom_queries() -> list[tuple[str, str]]:
    found = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                if (target.get("datasource") or panel["datasource"])["type"] == "prometheus":
                    found.append((f"{path.name}: {panel['title']}", target["expr"]))
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                found.append((f"{path.name}: {rule.get('alert') or rule.get('record')}", rule["expr"]))
    return found


@pytest.fixture
def live_metric_names(owner, settings):
    """Real traffic through the app, then the names /metrics prints."""
    client, merchant, _ = owner
    caching.reset()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)
    assert client.get("/api/v1/merchants/current").status_code == 200
    assert client.get("/api/v1/no-such-endpoint").status_code == 404
    assert client.post("/api/v1/merchants/current", data="{", content_type="application/json").status_code in (
        400,
        405,
    )
    assert caching.store_profile(merchant.pk)["slug"] == merchant.slug
    assert caching.store_profile(merchant.pk)["slug"] == merchant.slug
    body = client.get("/metrics").content.decode()
    return {line.split("{")[0].split(" ")[0] for line in body.splitlines() if line and not line.startswith("#")}


def test_every_dashboard_parses_and_has_queries():
    assert {p.stem for p in DASHBOARDS} == {
        "api-health",
        "assistant-quality",
        "channels-webhooks",
        "celery",
        "business-kpis",
    }
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        assert board["uid"] and board["title"] and board["panels"], path
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        for panel in board["panels"]:
            assert panel["targets"], f"{path.name}: {panel['title']} has no query"
            assert panel["datasource"]["uid"] in ("prometheus", "loki"), panel["title"]


def test_every_queried_metric_exists(live_metric_names):
    live = live_metric_names
    assert "django_http_responses_total_by_status_view_method_total" in live
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in live
    assert "kaleem_cache_requests_total" in live  # observed by the cache reads above
    known = live | registry_sample_names() | recording_rules() | BUILTIN_SERIES
    missing = []
    for where, expr in prom_queries():
        for name in metric_names(expr):
            if name in known or any(name.startswith(p) for p in EXPORTER_PREFIXES):
                continue
            missing.append(f"{where}: {name}")
    assert not missing, "queries reference metrics nobody exports:\n" + "\n".join(missing)


def test_app_metrics_used_by_queries_are_the_apps_own():
    """A panel must not silently query a django_/kaleem_ name that only looks right."""
    app_names = registry_sample_names()
    for where, expr in prom_queries():
        for name in metric_names(expr):
            if name.startswith("kaleem_"):
                assert name in app_names, f"{where}: {name} is not defined in kaleem/metrics.py"


def test_metric_name_extraction():
    expr = (
        'sum by (le, channel) (rate(kaleem_first_response_seconds_bucket{le="2.0",view!~"a|b"}[5m])) '
        '/ on (kind) max(label_replace(redis_key_size{key=~"x"}, "queue", "$1", "key", "(.*)")) or vector(0)'
    )
    assert metric_names(expr) == {"kaleem_first_response_seconds_bucket", "redis_key_size"}
    assert metric_names("1 - kaleem:first_response_slow_ratio:rate1h > (14.4 * 0.01)") == {
        "kaleem:first_response_slow_ratio:rate1h"
    }
    assert metric_names("max(kaleem_outbox_dead) - max(kaleem_outbox_dead offset 15m) > 1e3") == {"kaleem_outbox_dead"}
