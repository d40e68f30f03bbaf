"""`manage.py makemigrations` under the MongoDB profile, without a MongoDB server.

    .venv/bin/python scripts/mongodb_makemigrations.py admin auth contenttypes   # (re)generate
    .venv/bin/python scripts/mongodb_makemigrations.py --check --dry-run          # CI guard

makemigrations only needs the models and the migration files, except for one step: it compares the
migration graph with the history recorded in each database it may migrate, and Django skips that
step only for SQL "OperationalError"s, not for pymongo's "server not reachable". With no server
there is no recorded history to compare, so we run the command with a router that migrates nothing,
which is Django's own switch for skipping that comparison. Nothing else about the command changes.

A MongoDB DATABASE_URL in the environment is used as is; any other value (CI exports PostgreSQL's)
is replaced by a local MongoDB URL. No connection is opened either way."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "mongodb://localhost:27017/kaleem"


class NoHistoryRouter:
    """Tells makemigrations that no database has a history to compare against."""

    def allow_migrate(self, db: str, app_label: str, **hints: object) -> bool:
        return False


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    if not os.environ.get("DATABASE_URL", "").startswith(("mongodb://", "mongodb+srv://")):
        os.environ["DATABASE_URL"] = DEFAULT_URL  # CI exports a PostgreSQL URL; this tool is MongoDB-only
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaleem.settings.base")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import override_settings

    if not settings.IS_MONGODB:
        print("MongoDB profile was not selected; refusing to write SQL migrations here.", file=sys.stderr)
        return 2
    with override_settings(DATABASE_ROUTERS=[NoHistoryRouter()]):
        try:
            call_command("makemigrations", *argv)
        except SystemExit as exc:  # --check exits 1 when migrations are missing
            return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
