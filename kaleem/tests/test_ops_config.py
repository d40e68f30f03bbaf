"""Configuration that ships with the product: .env.example, compose, Dockerfile, runbooks, rules."""

import re
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "compose"))
import validate_compose  # noqa: E402

RULES = REPO / "compose/prometheus/rules/kaleem.yml"


def _alerts() -> list[dict]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r]


def test_env_example_documents_every_variable_the_settings_read():
    example = (REPO / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.M))
    read = set()
    for path in (REPO / "kaleem/settings").glob("*.py"):
        read |= set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', path.read_text()))
    for path in (
        REPO / "kaleem/observability.py",
        REPO / "kaleem/worker_metrics.py",
        REPO / "compose/gunicorn.conf.py",
    ):
        read |= set(re.findall(r'os\.environ(?:\.get)?[(\[]\s*"([A-Z][A-Z0-9_]+)"', path.read_text()))
    missing = sorted(read - documented - {"DJANGO_SETTINGS_MODULE"})
    assert not missing, f".env.example does not document: {missing}"


def test_env_example_has_no_real_secrets():
    for line in (REPO / ".env.example").read_text().splitlines():
        if re.match(r"^(SECRET_KEY|\w*PASSWORD|\w*SECRET|\w*SECRET_ACCESS_KEY|\w*API_KEY|SENTRY_DSN)=.+", line):
            assert "change-me" in line, line


def test_compose_files_are_valid_and_follow_policy(capsys):
    assert validate_compose.main(["compose/docker-compose.yml", "compose/docker-compose.override.yml"]) == 0
    doc = validate_compose.load(
        REPO / "compose/docker-compose.yml", validate_compose.read_env_file(REPO / ".env.example")
    )
    services = doc["services"]
    expected = {
        "nginx", "api", "worker", "beat", "migrate", "mongo", "redis", "qdrant", "minio", "prometheus", "alertmanager",
        "grafana", "loki", "promtail", "tempo", "otel-collector", "node-exporter", "cadvisor", "redis-exporter",
        "mongodb-exporter",
    }  # fmt: skip
    assert expected <= set(services)
    assert services["api"]["deploy"]["replicas"] == 2
    assert "gunicorn" in services["api"]["command"] and "kaleem.asgi:application" in services["api"]["command"]
    assert services["api"]["environment"]["DATABASE_URL"] == "mongodb://mongo:27017/kaleem?replicaSet=rs0"
    assert "--replSet" in services["mongo"]["command"]
    assert "rs.initiate" in " ".join(services["mongo"]["healthcheck"]["test"])


def test_compose_validator_rejects_bad_files(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("services:\n  api:\n    image: x\n    restart_policy: always\n")
    assert validate_compose.main(["--env-file", str(tmp_path / "none"), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "restart_policy" in err and "no healthcheck" in err and "no cpu/memory limit" in err
    missing_var = tmp_path / "var.yml"
    missing_var.write_text("services:\n  api:\n    image: ${NOT_SET_ANYWHERE:?must be set}\n")
    with pytest.raises(validate_compose.InterpolationError, match="NOT_SET_ANYWHERE"):
        validate_compose.main(["--env-file", str(tmp_path / "none"), str(missing_var)])


def test_interpolation_follows_compose_rules():
    env = {"A": "1", "EMPTY": ""}
    f = validate_compose.interpolate
    assert f("${A:-x} ${B:-y} ${EMPTY:-z} ${EMPTY-w} $$HOME $A", env) == "1 y z  $HOME 1"


def test_dockerfile_is_multistage_non_root_with_healthcheck():
    text = (REPO / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and not user[-1].startswith(("root", "0"))
    assert "HEALTHCHECK" in text and "/healthz" in text
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored and ".git" in ignored


@pytest.mark.parametrize("alert", [a["alert"] for a in _alerts()])
def test_every_alert_has_a_runbook_with_diagnosis_and_actions(alert):
    rule = next(a for a in _alerts() if a["alert"] == alert)
    url = rule["annotations"]["runbook_url"]
    assert url.startswith("docs/runbooks/") and url.endswith(".md")
    text = (REPO / url).read_text()
    for section in ("## Symptoms", "## Diagnosis", "## Actions"):
        assert section in text, f"{url}: missing {section}"
    assert "```promql" in text and "```logql" in text, f"{url}: needs PromQL and LogQL diagnosis queries"
    assert rule["labels"]["severity"] in ("warning", "critical")


def test_every_alert_has_a_firing_unit_test():
    """`promtool test rules` itself runs in .ci/ops-checks.sh; here: no alert is left without a test."""
    tested = set(re.findall(r"alertname: (\w+)", (REPO / "compose/prometheus/tests/kaleem_test.yml").read_text()))
    assert {a["alert"] for a in _alerts()} <= tested, "every alert needs a firing unit test"
