#!/usr/bin/env bash
# Runs the whole test suite. Embedded defaults unless DATABASE_URL / REDIS_URL point at real servers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
