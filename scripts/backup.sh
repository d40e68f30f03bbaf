#!/usr/bin/env bash
# Back up the database and Qdrant into $BACKUP_DIR, keeping the newest $BACKUP_KEEP of each.
#
#   scripts/backup.sh                 # database + qdrant
#   scripts/backup.sh db|qdrant       # one of them
#
# Database by DATABASE_URL scheme: mongodb -> mongodump archive (run inside the compose `mongo`
# container, so the host needs no Mongo tools), postgres -> pg_dump custom format, sqlite -> online
# backup API copy. Qdrant: QDRANT_URL set -> one snapshot per collection through the HTTP API,
# downloaded and packed in a tar; otherwise the local-mode QDRANT_PATH directory is tarred.
# Prints one log line per step and, last, the files written. Exit status non-zero on any failure.
#
# Testable without Docker: DOCKER names the docker command (a fake script in tests), DRY_RUN=1 prints
# the commands instead of running them.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f .env ] && [ -z "${KALEEM_NO_DOTENV:-}" ] && set -a && . ./.env && set +a

DOCKER=${DOCKER:-docker}
COMPOSE_FILE=${COMPOSE_FILE:-compose/docker-compose.yml}
COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-kaleem}
BACKUP_DIR=${BACKUP_DIR:-var/backups}
BACKUP_KEEP=${BACKUP_KEEP:-7}
DATABASE_URL=${DATABASE_URL:-sqlite:///var/kaleem.sqlite3}
QDRANT_URL=${QDRANT_BACKUP_URL:-${QDRANT_URL:-}}
QDRANT_PATH=${QDRANT_PATH:-var/qdrant}
CURL=${CURL:-curl}
STAMP=${BACKUP_STAMP:-$(date -u +%Y%m%dT%H%M%SZ)}

log() { printf '%s backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
run() { if [ -n "${DRY_RUN:-}" ]; then printf 'DRY_RUN: %s\n' "$*" >&2; else "$@"; fi; }
compose() { run $DOCKER compose -p "$COMPOSE_PROJECT_NAME" -f "$COMPOSE_FILE" "$@"; }

# keep the newest $BACKUP_KEEP files of a kind; names carry a UTC stamp, so name order is time order
rotate() {
  local prefix=$1 old
  old=$(ls -1 "$BACKUP_DIR"/"$prefix"-* 2>/dev/null | sort -r | tail -n +"$((BACKUP_KEEP + 1))" || true)
  if [ -n "$old" ]; then
    log "rotate: removing $(echo "$old" | wc -l) old $prefix backup(s), keeping $BACKUP_KEEP"
    echo "$old" | xargs rm -f --
  fi
}

backup_db() {
  local scheme=${DATABASE_URL%%:*} out
  case "$scheme" in
    mongodb|mongodb+srv)
      out="$BACKUP_DIR/db-$STAMP.mongo.archive.gz"
      log "database: mongodump of $(echo "$DATABASE_URL" | sed -E 's#//[^@]*@#//***@#') -> $out"
      if [ -n "${DRY_RUN:-}" ]; then compose exec -T mongo mongodump --uri "$DATABASE_URL" --archive --gzip
      else compose exec -T mongo mongodump --uri "$DATABASE_URL" --archive --gzip > "$out.partial"; fi ;;
    postgres|postgresql|pgsql)
      out="$BACKUP_DIR/db-$STAMP.pg.dump"
      log "database: pg_dump (custom format) -> $out"
      run ${PG_DUMP:-pg_dump} --format=custom --no-owner --file "$out.partial" "$DATABASE_URL" ;;
    sqlite)
      local path=${DATABASE_URL#sqlite://}
      out="$BACKUP_DIR/db-$STAMP.sqlite3"
      log "database: sqlite online backup of $path -> $out"
      run ${PYTHON:-python3} -c 'import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close(); s.close()' "$path" "$out.partial" ;;
    *) die "unsupported DATABASE_URL scheme: $scheme" ;;
  esac
  if [ -z "${DRY_RUN:-}" ]; then
    [ -s "$out.partial" ] || die "database dump is empty"
    mv "$out.partial" "$out"
  fi
  rotate db
  echo "$out"
}

backup_qdrant() {
  local out="$BACKUP_DIR/qdrant-$STAMP.tar" work
  if [ -z "$QDRANT_URL" ]; then
    [ -d "$QDRANT_PATH" ] || { log "qdrant: no QDRANT_URL and no $QDRANT_PATH: nothing to back up"; return 0; }
    log "qdrant: local mode, tar of $QDRANT_PATH -> $out"
    run tar -cf "$out" -C "$QDRANT_PATH" .
  else
    work="$BACKUP_DIR/.qdrant-$STAMP.tmp"
    rm -rf "$work" && mkdir -p "$work"
    local collections
    collections=$($CURL -fsS --max-time 30 "$QDRANT_URL/collections" \
      | ${PYTHON:-python3} -c 'import json,sys; print("\n".join(c["name"] for c in json.load(sys.stdin)["result"]["collections"]))') \
      || die "qdrant: cannot list collections at $QDRANT_URL"
    log "qdrant: snapshot of $(echo "$collections" | grep -c . || true) collection(s) at $QDRANT_URL"
    for c in $collections; do
      local name
      name=$($CURL -fsS --max-time 600 -X POST "$QDRANT_URL/collections/$c/snapshots?wait=true" \
        | ${PYTHON:-python3} -c 'import json,sys; print(json.load(sys.stdin)["result"]["name"])') \
        || die "qdrant: snapshot of $c failed"
      run $CURL -fsS --max-time 600 -o "$work/$c.snapshot" "$QDRANT_URL/collections/$c/snapshots/$name" \
        || die "qdrant: download of $c/$name failed"
      # the server keeps its copy otherwise: remove it so snapshots do not fill Qdrant's disk
      run $CURL -fsS --max-time 60 -X DELETE "$QDRANT_URL/collections/$c/snapshots/$name" >/dev/null \
        || log "qdrant: could not delete server-side snapshot $c/$name (continuing)"
      log "qdrant: $c -> $name"
    done
    run tar -cf "$out" -C "$work" .
    rm -rf "$work"
  fi
  rotate qdrant
  echo "$out"
}

mkdir -p "$BACKUP_DIR"
what=${1:-all}
log "start ($what) into $BACKUP_DIR, keep $BACKUP_KEEP"
case "$what" in
  db) backup_db ;;
  qdrant) backup_qdrant ;;
  all) backup_db; backup_qdrant ;;
  *) die "usage: $0 [all|db|qdrant]" ;;
esac
log "done"
