"""Fails on ORM usage that will not run on every backend we support (architecture section 6).

Static and fast (no Django import): it parses every module of our apps and reports raw SQL, row
locks, Django's transaction API used directly (a no-op on MongoDB), and the fields, lookups,
functions and QuerySet features that django-mongodb-backend 5.2 documents or marks as unsupported
(docs "Known issues and limitations", its features.py, and NotSupportedError raised in its code).

    .venv/bin/python scripts/check_portable_orm.py            # every app package in the project
    .venv/bin/python scripts/check_portable_orm.py FILE|DIR    # only these

A line may opt out with a trailing ``# portable-orm: ok <reason>`` when a match is a false
positive (e.g. a non-ORM object with a ``.raw()`` method). Tests are not scanned; migrations
(shared by every backend) are checked only for raw SQL and PostgreSQL-only operations.
What it cannot see statically is listed in docs/databases.md (JSONField ``__contains``, updates
and deletes that filter across relations, ``union()`` inside a transaction)."""

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_PARTS = {"mongo_migrations", "tests", "__pycache__", "node_modules"}
SKIP_TOP = {"static", "templates", "var", "docs", "compose", "benchmarks", "scripts", "locale"}
PRAGMA = "# portable-orm: ok"
# The one module allowed to use Django's transaction API: it is the helper that wraps it.
TRANSACTION_HELPER = Path("kaleem/db.py")
TRANSACTION_EXCEPTIONS = {"TransactionManagementError"}

QUERYSET_METHODS = {
    "raw": "raw SQL (QuerySet.raw) is not supported on MongoDB",
    "extra": "raw SQL (QuerySet.extra) is not supported on MongoDB",
    "select_for_update": "row locks (select_for_update) are a no-op on MongoDB; use unique constraints "
    "and conditional update()",
}
UNSUPPORTED_FIELDS = {
    "AutoField": "integer auto primary keys cannot be stored on MongoDB; declare a UUID pk",
    "BigAutoField": "integer auto primary keys cannot be stored on MongoDB; declare a UUID pk",
    "SmallAutoField": "integer auto primary keys cannot be stored on MongoDB; declare a UUID pk",
    "GeneratedField": "GeneratedField is not supported on MongoDB",
    "CompositePrimaryKey": "CompositePrimaryKey is not supported on MongoDB",
}
UNSUPPORTED_EXPRESSIONS = {
    "RawSQL": "raw SQL expression (RawSQL) is not supported on MongoDB",
    "FilteredRelation": "FilteredRelation is not supported on MongoDB",
    "ExtractQuarter": "ExtractQuarter is not supported on MongoDB",
    **{
        name: f"database function {name} is not supported on MongoDB"
        for name in (
            "Chr",
            "Ord",
            "MD5",
            "SHA1",
            "SHA224",
            "SHA256",
            "SHA384",
            "SHA512",
            "LPad",
            "RPad",
            "Repeat",
            "Reverse",
            "Right",
            "Sign",
        )
    },
}
CUSTOM_SQL_BASES = {"Func", "Aggregate", "Transform", "Lookup"}
UNSUPPORTED_LOOKUPS = {
    "regex": "regex lookups are not portable (project rule: no DB-specific lookups)",
    "iregex": "regex lookups are not portable (project rule: no DB-specific lookups)",
    "search": "full-text __search is PostgreSQL-only",
    "trigram_similar": "trigram lookups are PostgreSQL-only",
    "trigram_word_similar": "trigram lookups are PostgreSQL-only",
    "trigram_strict_word_similar": "trigram lookups are PostgreSQL-only",
    "unaccent": "__unaccent is PostgreSQL-only",
    "contained_by": "__contained_by is not supported on MongoDB",
    "quarter": "__quarter (ExtractQuarter) is not supported on MongoDB",
}
UNSUPPORTED_KEYWORDS = {
    "ignore_conflicts": "bulk_create(ignore_conflicts=...) is not supported on MongoDB",
    "update_conflicts": "bulk_create(update_conflicts=...) is not supported on MongoDB",
}
LOOKUP_STRING = re.compile(r"^[A-Za-z_]\w*__(?:\w+__)*(\w+)$")


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.why}"


def _name(node: ast.AST) -> str:
    """Last dotted component of a Name/Attribute (``models.AutoField`` -> ``AutoField``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _lookup_problem(text: str) -> str | None:
    match = LOOKUP_STRING.match(text)
    if match and match.group(1) in UNSUPPORTED_LOOKUPS:
        return f"{UNSUPPORTED_LOOKUPS[match.group(1)]}: {text}"
    return None


def _is_connection(node: ast.AST) -> bool:
    if isinstance(node, ast.Subscript):
        return _name(node.value) == "connections"
    return _name(node) == "connection"


class _Visitor(ast.NodeVisitor):
    def __init__(self, relative: Path) -> None:
        self.relative = relative
        self.found: list[tuple[int, str]] = []
        self.feature_gates = 0  # depth of `if connection.features.supports_…:` blocks around us

    def visit_If(self, node: ast.If) -> None:
        # Code that asks the backend first (`if connection.features.supports_ignore_conflicts:`)
        # is portable by construction: the other branch serves the backends without the feature.
        gated = "features.supports_" in ast.unparse(node.test)
        self.visit(node.test)
        self.feature_gates += gated
        for child in node.body:
            self.visit(child)
        self.feature_gates -= gated
        for child in node.orelse:
            self.visit(child)

    def add(self, node: ast.AST, why: str) -> None:
        self.found.append((getattr(node, "lineno", 0), why))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(node, alias.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if module.startswith("django.contrib.postgres"):
            self._check_module(node, module)
        for alias in node.names:
            if module == "django.db.transaction" and alias.name in TRANSACTION_EXCEPTIONS:
                continue  # importing the exception classes is harmless
            self._check_module(node, f"{module}.{alias.name}")
            if module.startswith("django.db.models") and alias.name in UNSUPPORTED_EXPRESSIONS:
                self.add(node, UNSUPPORTED_EXPRESSIONS[alias.name])
        self.generic_visit(node)

    def _check_module(self, node: ast.AST, module: str) -> None:
        if module.startswith("django.contrib.postgres"):
            self.add(node, "django.contrib.postgres is PostgreSQL-only")
        if module.startswith("django.db.transaction") and self.relative != TRANSACTION_HELPER:
            self.add(
                node,
                "use `from kaleem.db import atomic, on_commit` (django.db.transaction.atomic is a no-op on MongoDB)",
            )

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for base in node.bases:
            if _name(base) in CUSTOM_SQL_BASES:
                self.add(node, f"custom SQL {_name(base)} subclass: the MongoDB backend cannot translate it")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = _name(func)
        if isinstance(func, ast.Attribute):
            if name in QUERYSET_METHODS:
                self.add(node, QUERYSET_METHODS[name])
            elif name == "cursor" and _is_connection(func.value):
                self.add(node, "raw SQL cursor (connection.cursor) is not supported on MongoDB")
            elif name == "distinct" and node.args:
                self.add(node, "distinct(*fields) (DISTINCT ON) is PostgreSQL-only")
        if name in UNSUPPORTED_FIELDS:
            self.add(node, UNSUPPORTED_FIELDS[name])
        if name in UNSUPPORTED_EXPRESSIONS and (isinstance(func, ast.Attribute) or name == "RawSQL"):
            self.add(node, UNSUPPORTED_EXPRESSIONS[name])
        if name == "ManyToManyField" and not any(k.arg == "through" for k in node.keywords):
            self.add(
                node,
                "ManyToManyField without an explicit through model: its hidden table gets an integer pk "
                "(not storable on MongoDB); declare a through model with a UUID pk",
            )
        for keyword in node.keywords:
            if keyword.arg is None:
                continue
            if keyword.arg in UNSUPPORTED_KEYWORDS and not self.feature_gates:
                self.add(node, UNSUPPORTED_KEYWORDS[keyword.arg])
            problem = _lookup_problem(keyword.arg)
            if problem:
                self.add(node, problem)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        # transaction.atomic / transaction.on_commit reached via `from django import db` or `import django`
        if node.attr in ("atomic", "on_commit") and _name(node.value) == "transaction":
            if self.relative != TRANSACTION_HELPER:
                self.add(node, f"use kaleem.db.{node.attr} (django.db.transaction.{node.attr} is a no-op on MongoDB)")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            problem = _lookup_problem(node.value)
            if problem:
                self.add(node, problem)
            if node.value == "ATOMIC_REQUESTS":
                self.add(node, "ATOMIC_REQUESTS is not supported on MongoDB; use kaleem.db.atomic in services")

    def visit_Name(self, node: ast.Name) -> None:
        if node.id == "ATOMIC_REQUESTS":
            self.add(node, "ATOMIC_REQUESTS is not supported on MongoDB; use kaleem.db.atomic in services")


class _MigrationVisitor(ast.NodeVisitor):
    """Migrations are generated, so only what would break `migrate` on another backend matters."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []

    def visit_Call(self, node: ast.Call) -> None:
        if _name(node.func) == "RunSQL":
            self.found.append((node.lineno, "RunSQL in a shared migration cannot run on MongoDB"))
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if (node.module or "").startswith("django.contrib.postgres"):
            self.found.append((node.lineno, "PostgreSQL-only operation in a shared migration"))


def check_file(path: Path, root: Path = ROOT) -> list[Problem]:
    try:
        relative = path.resolve().relative_to(root)
    except ValueError:
        relative = path
    source = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        return [Problem(relative, exc.lineno or 0, f"cannot parse: {exc.msg}")]
    visitor: _Visitor | _MigrationVisitor = (
        _MigrationVisitor() if "migrations" in relative.parts else _Visitor(relative)
    )
    visitor.visit(tree)
    lines = source.splitlines()
    problems = []
    for line, why in sorted(set(visitor.found)):
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        if PRAGMA in text:
            continue
        problems.append(Problem(relative, line, why))
    return problems


def project_packages(root: Path = ROOT) -> list[Path]:
    """Every top-level Python package of the project (so a new app is guarded without edits here)."""
    return sorted(
        child
        for child in root.iterdir()
        if child.is_dir()
        and not child.name.startswith(".")
        and child.name not in SKIP_TOP
        and (child / "__init__.py").exists()
    )


def iter_files(targets: list[Path]) -> Iterator[Path]:
    for target in targets:
        if target.is_file():
            yield target
            continue
        for path in sorted(target.rglob("*.py")):
            if not SKIP_PARTS & set(path.relative_to(target).parts):
                yield path


def main(argv: list[str]) -> int:
    targets = [Path(arg) for arg in argv] or project_packages()
    problems = [problem for path in iter_files(targets) for problem in check_file(path)]
    if problems:
        print("Portable-ORM guard failed (docs/databases.md explains each rule):")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print(f"portable-ORM guard: ok ({', '.join(t.name for t in targets)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
