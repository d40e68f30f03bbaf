#!/usr/bin/env bash
# Restore a backup written by scripts/backup.sh. Destructive: asks for CONFIRM=yes.
#
#   CONFIRM=yes scripts/restore.sh db     var/backups/db-20261122T010000Z.mongo.archive.gz
#   CONFIRM=yes scripts/restore.sh qdrant var/backups/qdrant-20261122T010000Z.tar
#
# Stop the api, worker and beat services first (docs/runbooks/restore.md) so nothing writes meanwhile.
# DOCKER / DRY_RUN work as in backup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f .env ] && [ -z "${KALEEM_NO_DOTENV:-}" ] && set -a && . ./.env && set +a

DOCKER=${DOCKER:-docker}
COMPOSE_FILE=${COMPOSE_FILE:-compose/docker-compose.yml}
COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-kaleem}
DATABASE_URL=${DATABASE_URL:-sqlite:///var/kaleem.sqlite3}
QDRANT_URL=${QDRANT_BACKUP_URL:-${QDRANT_URL:-}}
QDRANT_PATH=${QDRANT_PATH:-var/qdrant}
CURL=${CURL:-curl}

log() { printf '%s restore: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
run() { if [ -n "${DRY_RUN:-}" ]; then printf 'DRY_RUN: %s\n' "$*" >&2; else "$@"; fi; }
compose() { run $DOCKER compose -p "$COMPOSE_PROJECT_NAME" -f "$COMPOSE_FILE" "$@"; }

[ $# -eq 2 ] || die "usage: $0 db|qdrant <backup file>"
what=$1 file=$2
[ -f "$file" ] || die "no such backup file: $file"
[ "${CONFIRM:-}" = "yes" ] || die "this overwrites live data; re-run with CONFIRM=yes"

restore_db() {
  case "$file" in
    *.mongo.archive.gz)
      log "database: mongorestore --drop from $file"
      if [ -n "${DRY_RUN:-}" ]; then compose exec -T mongo mongorestore --uri "$DATABASE_URL" --archive --gzip --drop
      else compose exec -T mongo mongorestore --uri "$DATABASE_URL" --archive --gzip --drop < "$file"; fi ;;
    *.pg.dump)
      log "database: pg_restore --clean from $file"
      run ${PG_RESTORE:-pg_restore} --clean --if-exists --no-owner --dbname "$DATABASE_URL" "$file" ;;
    *.sqlite3)
      local path=${DATABASE_URL#sqlite://}
      log "database: sqlite restore of $file into $path"
      run ${PYTHON:-python3} -c 'import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close(); s.close()' "$file" "$path" ;;
    *) die "unknown database backup type: $file" ;;
  esac
}

restore_qdrant() {
  if [ -z "$QDRANT_URL" ]; then
    log "qdrant: local mode, unpacking into $QDRANT_PATH"
    run rm -rf "$QDRANT_PATH"
    run mkdir -p "$QDRANT_PATH"
    run tar -xf "$file" -C "$QDRANT_PATH"
    return
  fi
  local work
  work=$(mktemp -d)
  tar -xf "$file" -C "$work"
  for snap in "$work"/*.snapshot; do
    [ -e "$snap" ] || { log "qdrant: backup holds no collections"; break; }
    local c
    c=$(basename "$snap" .snapshot)
    log "qdrant: uploading snapshot of $c"
    run $CURL -fsS --max-time 1800 -X POST -F "snapshot=@$snap" \
      "$QDRANT_URL/collections/$c/snapshots/upload?priority=snapshot&wait=true" >/dev/null \
      || die "qdrant: restore of $c failed"
  done
  rm -rf "$work"
}

log "start: $what from $file"
case "$what" in
  db) restore_db ;;
  qdrant) restore_qdrant ;;
  *) die "usage: $0 db|qdrant <backup file>" ;;
esac
log "done"
