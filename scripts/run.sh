#!/usr/bin/env bash
# Runs Kaleem on embedded defaults: SQLite, local Qdrant, filesystem media, eager Celery, demo store.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-kaleem.settings.base}
.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py compilemessages -v 0 2>/dev/null || true
.venv/bin/python manage.py load_demo
exec .venv/bin/python manage.py runserver "${KALEEM_ADDR:-127.0.0.1:8000}"
