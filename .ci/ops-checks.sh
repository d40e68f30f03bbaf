#!/usr/bin/env bash
# Operations checks with the real tools (called by .ci/run when present; also runnable locally):
# Prometheus config/rules/unit tests, Alertmanager config, nginx config, compose schema, shell syntax.
# The pytest side (dashboards vs live /metrics, Prometheus end-to-end, deploy rollback) runs in the
# normal test suite: kaleem/tests/test_ops_*.py.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v amtool >/dev/null || need+=(prometheus-alertmanager)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The Debian packages start daemons on install; CI wants only the binaries.
for svc in prometheus prometheus-alertmanager nginx; do
  (service "$svc" stop >/dev/null 2>&1 || true)
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "-- promtool check config"
promtool check config compose/prometheus/prometheus.yml
echo "-- promtool check rules"
promtool check rules compose/prometheus/rules/*.yml
echo "-- promtool test rules"
promtool test rules compose/prometheus/tests/*.yml

echo "-- amtool check-config"
# Templates live at /etc/alertmanager/templates in the container: point a copy at the repo's.
sed "s#/etc/alertmanager/templates#$PWD/compose/alertmanager/templates#" \
  compose/alertmanager/alertmanager.yml > "$tmp/alertmanager.yml"
amtool check-config "$tmp/alertmanager.yml"

echo "-- nginx -t"
# Upstream `api` only resolves on the compose network: test a copy aimed at 127.0.0.1.
mkdir -p "$tmp/nginx/logs"
sed 's/server api:8000/server 127.0.0.1:8000/' compose/nginx/nginx.conf > "$tmp/nginx/nginx.conf"
"$NGINX" -t -q -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log"
echo "nginx config OK"

echo "-- compose schema"
.venv/bin/python compose/validate_compose.py compose/docker-compose.yml compose/docker-compose.override.yml

echo "-- grafana dashboards are what build_dashboards.py generates"
cp -r compose/grafana/dashboards "$tmp/dashboards.before"
.venv/bin/python compose/grafana/build_dashboards.py >/dev/null
diff -r "$tmp/dashboards.before" compose/grafana/dashboards

echo "-- shell scripts parse"
for f in scripts/deploy.sh scripts/backup.sh scripts/restore.sh compose/entrypoint.sh .ci/ops-checks.sh; do
  bash -n "$f"
done
echo "ops checks passed"
