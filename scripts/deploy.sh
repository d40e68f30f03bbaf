#!/usr/bin/env bash
# Deploy an image tag to the compose stack, with backup, health check and automatic rollback.
#
#   scripts/deploy.sh 1.4.2
#
# Steps (one log line each): previous tag -> pull -> backup (DB + Qdrant, rotated) -> migrate ->
# roll api start-first (new containers next to the old, healthy, nginx reload, old stopped) -> poll
# $HEALTH_URL (/readyz through nginx) -> roll worker + beat -> record the tag.
# New containers that never get healthy are removed while the old ones keep serving; if /readyz fails
# after the switch, the api is rolled (start-first again) back to the previous tag. Exit 1 after a
# rollback, 2 when even the previous tag is not ready.
# Migrations must be backward compatible (expand, then contract in a later release) because a
# rollback does not undo them; the backup taken before is the way back from a bad migration.
#
# Environment: DOCKER (docker command; tests use a fake), CURL, HEALTH_URL, HEALTH_HOST, HEALTH_RETRIES,
# HEALTH_INTERVAL, API_REPLICAS (2), STATE_DIR (where the deployed tag is recorded), SKIP_BACKUP=1,
# DRY_RUN=1.
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

api_ids() { $DOCKER compose -p "$COMPOSE_PROJECT_NAME" -f "$COMPOSE_FILE" ps -q api 2>/dev/null | sort; }

reload_nginx() {
  compose exec -T nginx nginx -s reload >/dev/null || log "nginx: reload failed (it re-resolves on restart)"
}

# Wait for the containers' own healthchecks (compose/healthcheck.py on /healthz) to pass.
wait_healthy() {
  local attempt id status all
  for attempt in $(seq 1 "$HEALTH_RETRIES"); do
    all=healthy
    for id in "$@"; do
      status=$($DOCKER inspect --format '{{.State.Health.Status}}' "$id" 2>/dev/null || echo missing)
      [ "$status" = healthy ] || all=$status
    done
    [ "$all" = healthy ] && return 0
    [ "$all" = unhealthy ] || [ "$all" = missing ] && [ "$attempt" -gt 1 ] && { log "roll: a new container is $all"; return 1; }
    sleep "$HEALTH_INTERVAL"
  done
  return 1
}

# Start-first roll: start API_REPLICAS containers of `tag` next to the running ones, wait until they
# are healthy, put them behind nginx, then stop the old ones. Returns 0 when the new containers took
# over, 1 when they never became healthy (they are removed and the old ones keep serving), 2 when
# compose could not even start them.
roll_api() {
  local tag=$1 old new id want
  old=$(api_ids)
  want=${API_REPLICAS:-2}
  log "roll: api -> $tag (start $want new next to $(echo "$old" | grep -c . || true) running)"
  if [ -n "${DRY_RUN:-}" ]; then
    with_tag "$tag" up -d --no-deps --no-recreate --scale "api=$want" api
    return 0
  fi
  with_tag "$tag" up -d --no-deps --no-recreate --scale "api=$(( $(echo "$old" | grep -c . || true) + want ))" api \
    || { log "roll: compose could not start api:$tag"; return 2; }
  new=$(comm -13 <(echo "$old") <(api_ids) | grep . || true)
  [ -n "$new" ] || { log "roll: no new api container appeared"; return 2; }
  if ! wait_healthy $new; then
    log "roll: new api:$tag containers are not healthy; removing them, the running ones keep serving"
    $DOCKER rm -f $new >/dev/null || true
    reload_nginx
    return 1
  fi
  log "nginx: reload (old and new api containers)"
  reload_nginx
  if [ -n "$old" ]; then
    log "roll: stopping the previous api containers"
    for id in $old; do $DOCKER stop -t 30 "$id" >/dev/null && $DOCKER rm "$id" >/dev/null || true; done
    reload_nginx
  fi
  return 0
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

set +e
roll_api "$NEW_TAG"
rolled=$?
set -e
if [ "$rolled" -eq 0 ] && { [ -n "${DRY_RUN:-}" ] || wait_ready; }; then
  log "roll: worker and beat -> $NEW_TAG"
  with_tag "$NEW_TAG" up -d --no-deps worker beat
  [ -n "${DRY_RUN:-}" ] || { [ -n "$PREV_TAG" ] && echo "$PREV_TAG" > "$STATE_DIR/previous_tag"; echo "$NEW_TAG" > "$STATE_DIR/current_tag"; }
  log "done: $NEW_TAG is live"
  exit 0
fi

if [ "$rolled" -eq 1 ] && wait_ready; then
  # the new containers never took traffic; the previous ones still run
  die "deploy of $NEW_TAG rolled back; ${PREV_TAG:-the previous release} is serving" 1
fi
if [ -z "$PREV_TAG" ]; then
  die "$NEW_TAG is not ready and there is no previous tag to roll back to" 2
fi
log "rollback: $NEW_TAG failed its health check, returning api to $PREV_TAG"
if roll_api "$PREV_TAG" && wait_ready; then
  die "deploy of $NEW_TAG rolled back; $PREV_TAG is serving" 1
fi
die "rollback to $PREV_TAG is not ready either: page the on-call (docs/runbooks/deploy-rollback.md)" 2
