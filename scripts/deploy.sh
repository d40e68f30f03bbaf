#!/usr/bin/env bash
# Deploy an image tag to the compose stack, with backup, health check and automatic rollback.
#
#   scripts/deploy.sh 1.4.2
#
# Steps (one log line each): previous tag -> pull -> backup (DB + Qdrant, rotated) -> migrate ->
# roll api -> reload nginx -> poll $HEALTH_URL (/readyz through nginx) -> roll worker + beat -> record.
# If the new API does not become ready, the api service is put back on the previous tag, nginx is
# reloaded and readiness is polled again; the script then exits 1 (2 if the rollback is unhealthy too).
# Migrations must be backward compatible (expand, then contract in a later release) because a
# rollback does not undo them; the backup taken before is the way back from a bad migration.
#
# Environment: DOCKER (docker command; tests use a fake), CURL, HEALTH_URL, HEALTH_RETRIES,
# HEALTH_INTERVAL, STATE_DIR (where the deployed tag is recorded), SKIP_BACKUP=1, DRY_RUN=1.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f .env ] && [ -z "${KALEEM_NO_DOTENV:-}" ] && set -a && . ./.env && set +a

DOCKER=${DOCKER:-docker}
CURL=${CURL:-curl}
COMPOSE_FILE=${COMPOSE_FILE:-compose/docker-compose.yml}
COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-kaleem}
HEALTH_URL=${HEALTH_URL:-http://127.0.0.1/readyz}
# Django answers 400 to Host headers outside ALLOWED_HOSTS: probe as the site's own name.
HEALTH_HOST=${HEALTH_HOST:-$(echo "${ALLOWED_HOSTS:-localhost}" | cut -d, -f1 | sed 's/^\.//')}
HEALTH_RETRIES=${HEALTH_RETRIES:-30}
HEALTH_INTERVAL=${HEALTH_INTERVAL:-2}
STATE_DIR=${STATE_DIR:-var/deploy}

log() { printf '%s deploy: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "FAILED: $*"; exit "${2:-1}"; }
run() { if [ -n "${DRY_RUN:-}" ]; then printf 'DRY_RUN: KALEEM_TAG=%s %s\n' "${KALEEM_TAG:-}" "$*" >&2; else "$@"; fi; }
compose() { run $DOCKER compose -p "$COMPOSE_PROJECT_NAME" -f "$COMPOSE_FILE" "$@"; }
# compose interpolates ${KALEEM_TAG} in the image name: the tag is chosen per command
with_tag() { local tag=$1; shift; KALEEM_TAG=$tag compose "$@"; }

[ $# -eq 1 ] || die "usage: $0 <image tag>"
NEW_TAG=$1
[[ "$NEW_TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "invalid image tag: $NEW_TAG"
mkdir -p "$STATE_DIR"

previous_tag() {
  if [ -s "$STATE_DIR/current_tag" ]; then
    cat "$STATE_DIR/current_tag"
    return
  fi
  # First deploy with this script: ask the running api container which image it runs.
  local id image
  id=$($DOCKER compose -p "$COMPOSE_PROJECT_NAME" -f "$COMPOSE_FILE" ps -q api 2>/dev/null | head -n1 || true)
  [ -n "$id" ] || return 0
  image=$($DOCKER inspect --format '{{.Config.Image}}' "$id" 2>/dev/null || true)
  [[ "$image" == *:* ]] && echo "${image##*:}"
}

ready() {
  # 200 from /readyz means the database answers (status ok or degraded); 503 means not ready.
  local body
  body=$($CURL -fsS --max-time 5 -H "Host: $HEALTH_HOST" "$HEALTH_URL" 2>/dev/null) || return 1
  [[ "$body" == *'"status"'* ]]
}

wait_ready() {
  local attempt
  for attempt in $(seq 1 "$HEALTH_RETRIES"); do
    if ready; then
      log "health: $HEALTH_URL ready after $attempt attempt(s)"
      return 0
    fi
    sleep "$HEALTH_INTERVAL"
  done
  log "health: $HEALTH_URL not ready after $HEALTH_RETRIES attempts"
  return 1
}

roll_api() {
  local tag=$1
  log "roll: api -> $tag"
  with_tag "$tag" up -d --no-deps api || { log "roll: compose up of api:$tag failed"; return 1; }
  log "nginx: reload (new api container addresses)"
  compose exec -T nginx nginx -s reload || log "nginx: reload failed (continuing; it re-resolves on restart)"
}

PREV_TAG=$(previous_tag || true)
log "start: deploying $NEW_TAG (previous: ${PREV_TAG:-none})"

log "pull: images for $NEW_TAG"
with_tag "$NEW_TAG" pull api worker beat migrate || die "pull of $NEW_TAG failed; nothing changed"

if [ -z "${SKIP_BACKUP:-}" ]; then
  log "backup: database and qdrant (rotated)"
  DOCKER=$DOCKER bash scripts/backup.sh all >/dev/null || die "backup failed; nothing changed"
else
  log "backup: skipped (SKIP_BACKUP set)"
fi

log "migrate: running migrations of $NEW_TAG"
with_tag "$NEW_TAG" run --rm migrate || die "migrations of $NEW_TAG failed; api still on ${PREV_TAG:-its current tag}"

if roll_api "$NEW_TAG" && { [ -n "${DRY_RUN:-}" ] || wait_ready; }; then
  log "roll: worker and beat -> $NEW_TAG"
  with_tag "$NEW_TAG" up -d --no-deps worker beat
  [ -n "${DRY_RUN:-}" ] || { [ -n "$PREV_TAG" ] && echo "$PREV_TAG" > "$STATE_DIR/previous_tag"; echo "$NEW_TAG" > "$STATE_DIR/current_tag"; }
  log "done: $NEW_TAG is live"
  exit 0
fi

if [ -z "$PREV_TAG" ]; then
  die "$NEW_TAG is not ready and there is no previous tag to roll back to" 2
fi
log "rollback: $NEW_TAG failed its health check, returning api to $PREV_TAG"
if roll_api "$PREV_TAG" && wait_ready; then
  die "deploy of $NEW_TAG rolled back; $PREV_TAG is serving" 1
fi
die "rollback to $PREV_TAG is not ready either: page the on-call (docs/runbooks/deploy-rollback.md)" 2
