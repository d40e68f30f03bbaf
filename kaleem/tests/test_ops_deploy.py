"""scripts/deploy.sh, backup.sh and restore.sh, driven through a fake `docker` command and real HTTP.

The fake docker records what it is asked and which tag the api service runs; a local HTTP server
plays nginx -> /readyz and answers 200 only while the api runs a "good" tag. Backups run for real
against SQLite and a small fake Qdrant server speaking the documented snapshot API."""

import io
import json
import os
import sqlite3
import subprocess
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

FAKE_DOCKER = r"""#!/usr/bin/env bash
# fake docker: logs each call and keeps api containers as files <id> holding their image tag
state="$FAKE_STATE"; ctr="$state/containers"; mkdir -p "$ctr"
echo "KALEEM_TAG=${KALEEM_TAG:-} $*" >> "$state/calls.log"
healthy() { case " $FAKE_HEALTHY " in *" $1 "*) return 0 ;; esac; return 1; }
case "$1" in
  inspect)
    id=${4:-}; [ -f "$ctr/$id" ] || exit 1; tag=$(cat "$ctr/$id")
    case "$3" in
      *Config.Image*) echo "ghcr.io/kaleem/kaleem:$tag" ;;
      *Health*) if healthy "$tag"; then echo healthy; else echo unhealthy; fi ;;
    esac
    exit 0 ;;
  rm) shift; for id in "$@"; do [ "$id" = "-f" ] || rm -f "$ctr/$id"; done; exit 0 ;;
  stop) exit 0 ;;
  compose) ;;
  *) exit 0 ;;
esac
shift
while [ $# -gt 0 ]; do case "$1" in -p|-f) shift 2 ;; *) break ;; esac; done
cmd=$1; shift
case "$cmd" in
  ps) ls "$ctr" | sort ;;
  pull) [ -e "$state/pull_fails" ] && exit 1; exit 0 ;;
  run) [ -e "$state/migrate_fails" ] && { echo "migration error" >&2; exit 1; }; exit 0 ;;
  up)
    scale=""; services=()
    while [ $# -gt 0 ]; do
      case "$1" in --scale) scale=${2#api=}; shift 2 ;; -*) shift ;; *) services+=("$1"); shift ;; esac
    done
    for svc in "${services[@]}"; do
      if [ "$svc" = api ]; then
        n=$(ls "$ctr" | wc -l)
        while [ "$n" -lt "${scale:-2}" ]; do
          id=$(printf 'c%03d' "$(cat "$state/seq" 2>/dev/null || echo 0)")
          echo $(( $(cat "$state/seq" 2>/dev/null || echo 0) + 1 )) > "$state/seq"
          echo "$KALEEM_TAG" > "$ctr/$id"; n=$((n + 1))
        done
      else
        echo "$KALEEM_TAG" > "$state/$svc.tag"
      fi
    done ;;
  exec) exit 0 ;;
esac
"""


class _Ready(BaseHTTPRequestHandler):
    """nginx -> /readyz: ready while every running api container runs a tag in `ready`."""

    state: Path
    ready: set

    def do_GET(self):  # noqa: N802
        ctr = self.state / "containers"
        tags = {p.read_text().strip() for p in ctr.iterdir()} if ctr.exists() else set()
        ok = bool(tags) and tags <= self.ready
        self.server.hosts.append(self.headers.get("Host"))
        body = json.dumps({"status": "ok" if ok else "unavailable"}).encode()
        self.send_response(200 if ok else 503)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def stack(tmp_path):
    state = tmp_path / "state"
    (state / "containers").mkdir(parents=True)
    docker = tmp_path / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    handler = type("Ready", (_Ready,), {"state": state, "ready": {"1.0.0", "1.1.0"}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.hosts = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {
        "state": state,
        "docker": docker,
        "url": f"http://127.0.0.1:{server.server_port}/readyz",
        "tmp": tmp_path,
        "server": server,
    }
    server.shutdown()


def running(stack, tag: str, n: int = 2) -> None:
    for i in range(n):
        (stack["state"] / "containers" / f"old{i}").write_text(tag)


def api_tags(stack) -> list[str]:
    return sorted(p.read_text().strip() for p in (stack["state"] / "containers").iterdir())


# container healthcheck passes for these; /readyz additionally needs the tag in the `ready` set
HEALTHY = "1.0.0 1.1.0 3.0.0-noready 0.9.0-noready"


def deploy(stack, tag, **extra):
    env = {
        **os.environ,
        "KALEEM_NO_DOTENV": "1",
        "DOCKER": str(stack["docker"]),
        "FAKE_STATE": str(stack["state"]),
        "FAKE_HEALTHY": HEALTHY,
        "HEALTH_URL": stack["url"],
        "HEALTH_RETRIES": "3",
        "HEALTH_INTERVAL": "0.05",
        "STATE_DIR": str(stack["tmp"] / "deploy-state"),
        "SKIP_BACKUP": "1",
        "ALLOWED_HOSTS": "kaleem.example.com,.kaleem.example.com",
        **extra,
    }
    return subprocess.run(
        ["bash", str(REPO / "scripts/deploy.sh"), tag], env=env, capture_output=True, text=True, timeout=60
    )


def calls(stack):
    return (stack["state"] / "calls.log").read_text().splitlines()


def test_good_deploy_starts_new_containers_first_then_retires_the_old(stack):
    running(stack, "1.0.0")
    result = deploy(stack, "1.1.0")
    assert result.returncode == 0, result.stderr
    assert api_tags(stack) == ["1.1.0", "1.1.0"]
    assert (stack["state"] / "worker.tag").read_text().strip() == "1.1.0"
    assert (stack["tmp"] / "deploy-state/current_tag").read_text().strip() == "1.1.0"
    assert (stack["tmp"] / "deploy-state/previous_tag").read_text().strip() == "1.0.0"  # from docker inspect
    log = result.stderr
    for step in ("start: deploying 1.1.0 (previous: 1.0.0)", "pull:", "backup: skipped", "migrate:",
                 "roll: api -> 1.1.0 (start 2 new next to 2 running)", "nginx: reload (old and new",
                 "roll: stopping the previous api containers", "health:", "roll: worker and beat",
                 "done: 1.1.0 is live"):  # fmt: skip
        assert step in log, step
    seen = calls(stack)
    pull = next(i for i, c in enumerate(seen) if " pull " in c)
    migrate = next(i for i, c in enumerate(seen) if " run --rm migrate" in c)
    scale = next(i for i, c in enumerate(seen) if "--scale api=4" in c)
    stop = next(i for i, c in enumerate(seen) if c.split(" ", 1)[1].startswith("stop "))
    assert pull < migrate < scale < stop  # old containers stop only after the new ones are healthy
    assert set(stack["server"].hosts) == {"kaleem.example.com"}  # probes as the site, not 127.0.0.1


def test_unhealthy_release_never_takes_traffic_and_old_containers_keep_serving(stack):
    running(stack, "1.0.0")
    assert deploy(stack, "1.1.0").returncode == 0
    result = deploy(stack, "2.0.0-bad")
    assert result.returncode == 1
    assert api_tags(stack) == ["1.1.0", "1.1.0"]  # the new containers were removed
    assert (stack["state"] / "worker.tag").read_text().strip() == "1.1.0"  # workers never moved
    assert (stack["tmp"] / "deploy-state/current_tag").read_text().strip() == "1.1.0"
    assert "new api:2.0.0-bad containers are not healthy; removing them" in result.stderr
    assert "rolled back; 1.1.0 is serving" in result.stderr
    assert not any(c.split(" ", 1)[1].startswith("stop ") for c in calls(stack)[-10:])


def test_release_that_fails_readiness_after_the_switch_is_rolled_back_to_previous_tag(stack):
    running(stack, "1.1.0")
    result = deploy(stack, "3.0.0-noready")  # containers healthy, /readyz not (e.g. database refused)
    assert result.returncode == 1
    assert "rollback: 3.0.0-noready failed its health check, returning api to 1.1.0" in result.stderr
    assert "rolled back; 1.1.0 is serving" in result.stderr
    assert api_tags(stack) == ["1.1.0", "1.1.0"]
    rolls = [c.split(" ")[0] for c in calls(stack) if "--scale" in c]
    assert rolls == ["KALEEM_TAG=3.0.0-noready", "KALEEM_TAG=1.1.0"]


def test_rollback_that_is_not_ready_either_exits_2(stack):
    running(stack, "0.9.0-noready")
    result = deploy(stack, "3.0.0-noready")
    assert result.returncode == 2
    assert "rollback to 0.9.0-noready is not ready either" in result.stderr


def test_failed_migration_stops_before_touching_the_api(stack):
    running(stack, "1.0.0")
    (stack["state"] / "migrate_fails").touch()
    result = deploy(stack, "1.1.0")
    assert result.returncode == 1
    assert "migrations of 1.1.0 failed" in result.stderr
    assert api_tags(stack) == ["1.0.0", "1.0.0"]


def test_failed_pull_changes_nothing(stack):
    running(stack, "1.0.0")
    (stack["state"] / "pull_fails").touch()
    result = deploy(stack, "1.1.0")
    assert result.returncode == 1
    assert "pull of 1.1.0 failed; nothing changed" in result.stderr
    assert not any(" run " in c or " up " in c for c in calls(stack))


@pytest.mark.parametrize("tag", ["", "../etc", "1.0; rm -rf /", "-v"])
def test_malformed_tag_is_refused(stack, tag):
    result = deploy(stack, tag)
    assert result.returncode == 1
    assert not (stack["state"] / "calls.log").exists() or " up " not in (stack["state"] / "calls.log").read_text()


def test_dry_run_prints_commands_and_changes_nothing(stack):
    running(stack, "1.0.0")
    result = deploy(stack, "1.1.0", DRY_RUN="1")
    assert result.returncode == 0
    assert "DRY_RUN: KALEEM_TAG=1.1.0" in result.stderr and "--scale api=2 api" in result.stderr
    assert api_tags(stack) == ["1.0.0", "1.0.0"]


# --- backup / restore ------------------------------------------------------------------------------


class _FakeQdrant(BaseHTTPRequestHandler):
    """GET /collections, POST/GET/DELETE /collections/{c}/snapshots[/{name}], POST .../snapshots/upload."""

    snapshots: dict
    uploads: list

    def _json(self, payload, status=200):
        body = json.dumps({"result": payload, "status": "ok"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts == ["collections"]:
            return self._json({"collections": [{"name": "products_m1"}, {"name": "knowledge_m1"}]})
        if len(parts) == 4 and parts[2] == "snapshots" and parts[3] in self.snapshots:
            data = self.snapshots[parts[3]]
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return None
        return self._json(None, 404)

    def do_POST(self):  # noqa: N802
        parts = self.path.split("?")[0].strip("/").split("/")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(parts) == 4 and parts[3] == "upload":
            self.uploads.append((parts[1], body))
            return self._json(True)
        if len(parts) == 3 and parts[2] == "snapshots":
            name = f"{parts[1]}-snap.snapshot"
            self.snapshots[name] = f"SNAPSHOT OF {parts[1]}".encode()
            return self._json({"name": name, "size": 10})
        return self._json(None, 404)

    def do_DELETE(self):  # noqa: N802
        parts = self.path.split("?")[0].strip("/").split("/")
        self.snapshots.pop(parts[-1], None)
        return self._json(True)

    def log_message(self, *args):
        pass


@pytest.fixture
def qdrant_server():
    handler = type("Q", (_FakeQdrant,), {"snapshots": {}, "uploads": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _script(name, args, env, tmp_path):
    full = {
        **os.environ,
        "KALEEM_NO_DOTENV": "1",
        "DOCKER": "false",
        "BACKUP_DIR": str(tmp_path / "backups"),
        **env,
    }
    return subprocess.run(
        ["bash", str(REPO / f"scripts/{name}"), *args], env=full, capture_output=True, text=True, timeout=60
    )


def test_backup_sqlite_and_qdrant_with_rotation_then_restore(tmp_path, qdrant_server):
    handler, url = qdrant_server
    db = tmp_path / "live.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("create table t (v text)")
        conn.execute("insert into t values ('before')")
    env = {"DATABASE_URL": f"sqlite:///{db}", "QDRANT_URL": url, "BACKUP_KEEP": "2"}
    written = []
    for stamp in ("20261101T000000Z", "20261102T000000Z", "20261103T000000Z"):
        result = _script("backup.sh", [], {**env, "BACKUP_STAMP": stamp}, tmp_path)
        assert result.returncode == 0, result.stderr
        written = result.stdout.split()
    backups = sorted(p.name for p in (tmp_path / "backups").iterdir())
    assert backups == [
        "db-20261102T000000Z.sqlite3",
        "db-20261103T000000Z.sqlite3",
        "qdrant-20261102T000000Z.tar",
        "qdrant-20261103T000000Z.tar",
    ]
    assert handler.snapshots == {}  # server-side snapshots deleted after download
    with tarfile.open(written[1]) as tar:
        names = sorted(m.name for m in tar.getmembers() if m.isfile())
        assert names == ["./knowledge_m1.snapshot", "./products_m1.snapshot"]
        assert tar.extractfile("./products_m1.snapshot").read() == b"SNAPSHOT OF products_m1"

    with sqlite3.connect(db) as conn:
        conn.execute("update t set v = 'after'")
    refused = _script("restore.sh", ["db", written[0]], env, tmp_path)
    assert refused.returncode == 1 and "CONFIRM=yes" in refused.stderr
    restored = _script("restore.sh", ["db", written[0]], {**env, "CONFIRM": "yes"}, tmp_path)
    assert restored.returncode == 0, restored.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("select v from t").fetchone() == ("before",)

    restored = _script("restore.sh", ["qdrant", written[1]], {**env, "CONFIRM": "yes"}, tmp_path)
    assert restored.returncode == 0, restored.stderr
    uploaded = {name: body for name, body in handler.uploads}
    assert set(uploaded) == {"products_m1", "knowledge_m1"}
    assert b"SNAPSHOT OF products_m1" in uploaded["products_m1"]  # multipart body carries the file


def test_backup_chooses_dump_tool_by_database_scheme(tmp_path):
    for url, expected in (
        ("mongodb://mongo:27017/kaleem?replicaSet=rs0", "mongodump --uri mongodb://mongo:27017/kaleem?replicaSet=rs0"),
        ("postgres://postgres@db:5432/kaleem", "pg_dump --format=custom"),
    ):
        result = _script("backup.sh", ["db"], {"DATABASE_URL": url, "DRY_RUN": "1", "DOCKER": "docker"}, tmp_path)
        assert result.returncode == 0, result.stderr
        assert expected in result.stderr
    result = _script("backup.sh", ["db"], {"DATABASE_URL": "mysql://x/y"}, tmp_path)
    assert result.returncode == 1 and "unsupported DATABASE_URL scheme" in result.stderr


def test_backup_fails_loudly_when_qdrant_is_unreachable(tmp_path):
    db = tmp_path / "x.sqlite3"
    sqlite3.connect(db).close()
    result = _script("backup.sh", [], {"DATABASE_URL": f"sqlite:///{db}", "QDRANT_URL": "http://127.0.0.1:9"}, tmp_path)
    assert result.returncode == 1
    assert "cannot list collections" in result.stderr


def test_restore_refuses_unknown_file_types(tmp_path):
    bogus = tmp_path / "thing.zip"
    bogus.write_bytes(io.BytesIO(b"x").read())
    result = _script("restore.sh", ["db", str(bogus)], {"CONFIRM": "yes"}, tmp_path)
    assert result.returncode == 1 and "unknown database backup type" in result.stderr
