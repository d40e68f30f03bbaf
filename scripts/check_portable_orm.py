"""Fails on ORM usage that django-mongodb-backend cannot run (architecture §6): raw SQL, row locks,
and lookups/functions the backend documents as unsupported. Run from the project root."""

import re
import sys
from pathlib import Path

ROOTS = ["kaleem", "merchants", "catalog", "conversations", "channels", "integrations"]
FORBIDDEN = {
    r"\.raw\(": "raw SQL (.raw)",
    r"\.extra\(": "raw SQL (.extra)",
    r"connection\.cursor|connections\[[^\]]+\]\.cursor": "raw SQL cursor",
    r"select_for_update": "row locks (select_for_update) — use unique constraints / conditional updates",
    r"\bRawSQL\b": "RawSQL expression",
    r"django\.contrib\.postgres": "PostgreSQL-only features",
    r"__search\b|__trigram|__unaccent": "PostgreSQL-only lookups",
    r"__regex\b|__iregex\b": "regex lookups are not portable to every backend we support",
    r"\bdistinct\(\s*['\"]": "DISTINCT ON (fields) is PostgreSQL-only",
}
SKIP_PARTS = {"migrations", "mongo_migrations", "tests"}


def main() -> int:
    problems = []
    for root in ROOTS:
        for path in Path(root).rglob("*.py"):
            if SKIP_PARTS & set(path.parts):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if line.lstrip().startswith("#"):
                    continue
                for pattern, why in FORBIDDEN.items():
                    if re.search(pattern, line):
                        problems.append(f"{path}:{number}: {why}: {line.strip()}")
    if problems:
        print("Portable-ORM guard failed:\n" + "\n".join(problems))
        return 1
    print("portable-ORM guard: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
