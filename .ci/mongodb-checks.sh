#!/usr/bin/env bash
# MongoDB-profile guards (issue 10, docs/databases.md). None of them needs a MongoDB server: the
# MongoDB URL below is only parsed, never contacted. Called by .ci/run after the SQL migration check.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
MONGODB_URL="mongodb://127.0.0.1:27017/kaleem"

step() { printf '\n== mongodb-checks: %s (%ss)\n' "$1" "$SECONDS"; }

# Every app of ours by label, so an app whose models have no migrations package yet is reported
# too (plain `makemigrations --check` silently skips such apps).
LOCAL_APPS=$(DJANGO_SETTINGS_MODULE=kaleem.settings.base "$PY" -c '
import os, sys
sys.path.insert(0, os.getcwd())
import django
django.setup()
from django.apps import apps
from django.conf import settings
root = str(settings.BASE_DIR) + os.sep
print(" ".join(a.label for a in apps.get_app_configs() if a.path.startswith(root) and ".venv" not in a.path))
')

step "SQL settings: migrations complete for ${LOCAL_APPS}"
"$PY" manage.py makemigrations --check --dry-run $LOCAL_APPS

step "MongoDB settings: contrib migrations (kaleem/mongo_migrations) and shared app migrations complete"
DATABASE_URL="$MONGODB_URL" "$PY" scripts/mongodb_makemigrations.py --check --dry-run admin auth contenttypes $LOCAL_APPS

step "MongoDB settings: manage.py check with the backend's field validation"
DATABASE_URL="$MONGODB_URL" "$PY" manage.py check --database default

# The opt-in lane against a real MongoDB replica set: runs the whole suite when
# KALEEM_TEST_MONGODB_URL is set, otherwise says plainly that it did not run.
step "MongoDB test lane"
make -s test-mongodb

step "done"
