"""End to end: the app serving real HTTP, a real Prometheus (Debian package) scraping it, webchat
traffic that runs real assistant turns, and the first-response PromQL query answering with data."""

import json
import math
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
import uuid

import httpx
import pytest
import yaml

from channels.models import Channel, ChannelKind
from kaleem.testing.factories import MerchantFactory
from kaleem.testing.services import skip_or_fail
from kaleem.tests.ops_support import free_port, wait_for

ORIGIN = "https://shop.example.com"
FIRST_RESPONSE_P95 = "histogram_quantile(0.95, sum by (le, channel) (rate(kaleem_first_response_seconds_bucket[30s])))"


def _get_json(url: str):  # noqa: ANN202
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return json.loads(response.read())
    except OSError:
        return None


def _query(base: str, promql: str) -> list:
    body = _get_json(f"{base}/api/v1/query?query={urllib.parse.quote(promql)}")
    return body["data"]["result"] if body and body.get("status") == "success" else []


@pytest.fixture
def prometheus(live_server, tmp_path):
    binary = shutil.which("prometheus")
    if not binary:
        skip_or_fail("prometheus binary not installed (Debian package 'prometheus'; .ci/ops-checks.sh installs it)")
    target = live_server.url.removeprefix("http://")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "kaleem-api", "metrics_path": "/metrics", "static_configs": [{"targets": [target]}]}],
    }  # fmt: skip
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        ready = wait_for(lambda: _get_json(f"{base}/api/v1/status/buildinfo"), timeout=30)
        if not ready:
            proc.kill()
            pytest.fail(f"prometheus did not start: {proc.stderr.read().decode()[-2000:]}")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _webchat_turn(base_url: str, channel: Channel, text: str) -> None:
    api = f"{base_url}/api/webchat/v1/{channel.public_key}"
    with httpx.Client(headers={"Origin": ORIGIN}, timeout=30) as http:
        started = http.post(f"{api}/conversations", json={})
        assert started.status_code == 200, started.text
        token = started.json()["visitor_token"]
        sent = http.post(
            f"{api}/messages", json={"client_id": uuid.uuid4().hex, "text": text}, headers={"X-Kaleem-Visitor": token}
        )
        assert sent.status_code == 201, sent.text


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_prometheus_scrapes_the_app_and_first_response_query_returns_data(live_server, prometheus):
    merchant = MerchantFactory()
    channel = Channel.objects.create(
        merchant=merchant,
        kind=ChannelKind.WEBCHAT,
        name="Web",
        status=Channel.Status.ACTIVE,
        settings={"allowed_origins": [ORIGIN]},
    )
    # the scrape target is up
    assert wait_for(lambda: _query(prometheus, 'up{job="kaleem-api"} == 1'), timeout=20), "app never scraped"
    httpx.get(f"{live_server.url}/healthz")
    httpx.get(f"{live_server.url}/api/v1/merchants/current")  # 401: API traffic with a status label

    # two real assistant turns (webchat -> record_inbound -> assistant -> reply_send), a scrape apart,
    # so rate() over the histogram has an increase to work with
    _webchat_turn(live_server.url, channel, "السلام عليكم، كم سعر التوصيل؟")
    assert wait_for(lambda: _query(prometheus, "kaleem_first_response_seconds_count"), timeout=15), (
        "kaleem_first_response_seconds was never observed: the assistant turn did not reply"
    )
    time.sleep(1.5)
    _webchat_turn(live_server.url, channel, "Do you ship to Jeddah?")

    def p95_has_data():
        result = _query(prometheus, FIRST_RESPONSE_P95)
        values = [float(r["value"][1]) for r in result if r["metric"].get("channel") == "webchat"]
        return values if values and not math.isnan(values[0]) else None

    values = wait_for(p95_has_data, timeout=15)
    assert values, _query(prometheus, "kaleem_first_response_seconds_count")
    assert 0 <= values[0] <= 10.0
    count = _query(prometheus, 'sum(kaleem_first_response_seconds_count{channel="webchat"})')
    assert float(count[0]["value"][1]) >= 2
    # API traffic is visible under the django-prometheus names the rules use
    assert _query(prometheus, "sum(django_http_responses_total_by_status_view_method_total) > 0")
