"""The burst quiet period with a real Celery worker on Redis: three quick messages, one answer."""

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kaleem.tests.ops_support import private_redis, wait_for

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.redis]


def _rows(db: Path, sql: str) -> list:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_a_burst_gets_one_answer_after_the_quiet_period(tmp_path):
    db = tmp_path / "burst.sqlite3"
    with private_redis() as url:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kaleem.settings.base",
            "DATABASE_URL": f"sqlite:///{db}",
            "REDIS_URL": url,
            "CELERY_BROKER_URL": url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "QDRANT_PATH": str(tmp_path / "qdrant"),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "ASSISTANT_QUIET_PERIOD_SECONDS": "1.0",
            "LOG_LEVEL": "WARNING",
        }
        helper = [sys.executable, "-m", "conversations.tests.burst_helper"]
        subprocess.run([*helper, "setup"], cwd=REPO, env=env, check=True, timeout=240, capture_output=True)
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kaleem", "worker", "-Q", "assistant", "--pool", "solo",
             "-l", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            started = time.monotonic()
            subprocess.run([*helper, "send"], cwd=REPO, env=env, check=True, timeout=120, capture_output=True)
            sql = "SELECT text, reply_to_id FROM conversations_message WHERE direction='out' AND sender='assistant'"
            assert wait_for(lambda: _rows(db, sql), timeout=120), "no answer from the worker"
            time.sleep(3)  # any further (wrong) answers would have arrived by now
            answers = _rows(db, sql)
            assert len(answers) == 1, answers
            assert "25" in answers[0][0]
            assert time.monotonic() - started >= 1.0  # not before the quiet period
            unanswered = _rows(
                db, "SELECT COUNT(*) FROM conversations_message WHERE direction='in' AND assistant_claimed_at IS NULL"
            )
            assert unanswered == [(0,)]
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
