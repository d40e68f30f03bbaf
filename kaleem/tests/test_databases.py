"""The database profiles (SQLite/PostgreSQL/MongoDB), the transaction helper, indexes and the
portable-ORM guard. Nothing here needs a MongoDB server: MongoDB settings are loaded in child
processes, and the MongoDB branch of kaleem.db runs the backend's real transaction code against a
client whose transactions stay empty (pymongo commits/aborts those without contacting a server).
What that leaves unexercised is listed in docs/databases.md."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections, models
from django.db.backends.base import base as backend_base
from django.db.transaction import TransactionManagementError

from kaleem.db import MongoAtomic, MongoDBPortabilityWarning, atomic, is_mongodb, on_commit
from kaleem.settings.mongodb import (
    DEFAULT_CLIENT_OPTIONS,
    MONGODB_CONTRIB_APP_CONFIGS,
    MONGODB_MIGRATION_MODULES,
    mongodb_database_settings,
    mongodb_installed_apps,
)
from merchants.models import Merchant

ROOT = Path(settings.BASE_DIR)
PYTHON = sys.executable


def _run(args: list[str], env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    child_env = {**os.environ, **(env or {})}
    child_env.pop("DJANGO_SETTINGS_MODULE", None)  # the child picks its own profile from DATABASE_URL
    return subprocess.run(args, cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=timeout)


# --------------------------------------------------------------------------- profile selection


def test_url_options_reach_the_client_and_the_url_wins_over_our_defaults():
    url = (
        "mongodb://kaleem:s%40cret@db1:27017,db2:27018/kaleem_prod"
        "?replicaSet=rs0&tls=true&authSource=admin&serverSelectionTimeoutMS=2000"
    )
    entry = mongodb_database_settings(url)
    assert entry["ENGINE"] == "django_mongodb_backend"
    assert entry["NAME"] == "kaleem_prod"
    assert entry["HOST"] == url  # MongoClient parses hosts, credentials, replicaSet, tls, authSource itself
    assert "serverSelectionTimeoutMS" not in entry["OPTIONS"]  # given in the URL: not overridden
    assert entry["OPTIONS"]["connectTimeoutMS"] == DEFAULT_CLIENT_OPTIONS["connectTimeoutMS"]


def test_srv_urls_are_accepted_without_a_dns_lookup():
    entry = mongodb_database_settings("mongodb+srv://user:pw@cluster0.example.invalid/kaleem?retryWrites=true")
    assert entry["NAME"] == "kaleem"


@pytest.mark.parametrize(
    "url, message",
    [
        ("mongodb://localhost:27017", "must name the database"),
        ("mongodb://localhost:27017/?replicaSet=rs0", "must name the database"),
        ("mongodb://localhost:27017/kaleem?tls=maybe", "Invalid option"),
        ("mongodb://localhost:27017/kaleem?replSet=rs0", "Invalid option"),  # typo of replicaSet
        ("postgres://localhost/kaleem", "must start with mongodb"),
    ],
)
def test_bad_mongodb_urls_fail_at_startup_with_a_clear_message(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        mongodb_database_settings(url)


def test_contrib_apps_are_swapped_and_others_kept_in_order():
    original = ["django.contrib.admin", "django.contrib.auth", "django.contrib.sessions", "kaleem", "merchants"]
    assert mongodb_installed_apps(original) == [
        MONGODB_CONTRIB_APP_CONFIGS["django.contrib.admin"],
        MONGODB_CONTRIB_APP_CONFIGS["django.contrib.auth"],
        "django.contrib.sessions",
        "kaleem",
        "merchants",
    ]


@pytest.mark.skipif(settings.IS_MONGODB, reason="this run uses the MongoDB profile")
def test_sql_profile_is_unchanged():
    assert settings.IS_MONGODB is False
    assert "django.contrib.auth" in settings.INSTALLED_APPS
    assert not set(MONGODB_MIGRATION_MODULES) & set(getattr(settings, "MIGRATION_MODULES", {}) or {})
    assert settings.DEFAULT_AUTO_FIELD == "django.db.models.BigAutoField"
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"


# One child process loads the MongoDB profile and runs everything that needs it (Django settings
# are per process): the profile as seen by Django and pymongo, `check --database default`, and the
# same makemigrations check CI runs. No server: pymongo's client is created with connect=False.
MONGODB_PROFILE_PROBE = textwrap.dedent(
    """
    import io, json, os, sys, django
    os.environ["DJANGO_SETTINGS_MODULE"] = "kaleem.settings.base"
    sys.path.insert(0, "scripts")
    django.setup()
    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError
    from django.db import connection
    from pymongo import MongoClient
    import mongodb_makemigrations

    client = MongoClient(**connection.get_connection_params(), connect=False)
    root = str(settings.BASE_DIR) + os.sep
    local = [a for a in apps.get_app_configs() if a.path.startswith(root) and ".venv" not in a.path]
    report = {
        "is_mongodb": settings.IS_MONGODB,
        "vendor": connection.vendor,
        "apps": settings.INSTALLED_APPS,
        "migration_modules": settings.MIGRATION_MODULES,
        "session_engine": settings.SESSION_ENGINE,
        "contrib_pks": {
            m._meta.label: type(m._meta.pk).__name__
            for m in apps.get_models(include_auto_created=True)
            if m._meta.app_label in ("admin", "auth", "contenttypes")
        },
        "our_pks": {m._meta.label: type(m._meta.pk).__name__ for a in local for m in a.get_models()},
        "replica_set": client.options.replica_set_name,
        "auth_source": client.options._options.get("authSource"),
        "server_selection_timeout": client.options.server_selection_timeout,
    }
    client.close()
    out = io.StringIO()
    try:  # --database makes the backend validate every field (mongodb.E001: integer auto pks)
        call_command("check", databases=["default"], stdout=out, stderr=out)
        report["check"] = "ok"
    except SystemCheckError as exc:
        report["check"] = str(exc)
    labels = sorted({*settings.MIGRATION_MODULES, *(a.label for a in local)})
    report["makemigrations_rc"] = mongodb_makemigrations.main(["--check", "--dry-run", *labels])
    print(json.dumps(report))
    """
)


@pytest.fixture(scope="module")
def mongodb_profile() -> dict:
    url = "mongodb://127.0.0.1:27017/kaleem?replicaSet=rs0&tls=false&authSource=admin&serverSelectionTimeoutMS=1500"
    result = _run([PYTHON, "-c", MONGODB_PROFILE_PROBE], env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    report["output"] = result.stdout
    return report


def test_mongodb_url_switches_the_whole_profile_without_a_server(mongodb_profile):
    profile = mongodb_profile
    assert profile["is_mongodb"] is True and profile["vendor"] == "mongodb"
    for original, replacement in MONGODB_CONTRIB_APP_CONFIGS.items():
        assert replacement in profile["apps"] and original not in profile["apps"]
    assert profile["migration_modules"] == MONGODB_MIGRATION_MODULES
    assert profile["session_engine"] == "django.contrib.sessions.backends.signed_cookies"
    assert profile["contrib_pks"] and set(profile["contrib_pks"].values()) == {"ObjectIdAutoField"}
    # the URL's options are what pymongo will use
    assert profile["replica_set"] == "rs0"
    assert profile["auth_source"] == "admin"
    assert profile["server_selection_timeout"] == 1.5


def test_our_models_keep_uuid_pks_so_their_migrations_are_shared(mongodb_profile):
    offenders = {label: pk for label, pk in mongodb_profile["our_pks"].items() if pk != "UUIDField"}
    assert not offenders, f"models without a UUID primary key cannot share migrations with MongoDB: {offenders}"


def test_mongodb_system_checks_pass_including_the_backend_field_validation(mongodb_profile):
    assert mongodb_profile["check"] == "ok", mongodb_profile["check"]


def test_mongodb_migration_set_is_complete_and_consistent_with_the_models(mongodb_profile):
    assert mongodb_profile["makemigrations_rc"] == 0, mongodb_profile["output"]
    for label in MONGODB_MIGRATION_MODULES:
        assert (ROOT / "kaleem" / "mongo_migrations" / label / "0001_initial.py").exists()


# --------------------------------------------------------------------------- transactions on SQL


class Boom(Exception):
    pass


def _in_transaction() -> bool:
    """Whether the default connection is inside kaleem.db.atomic, on either backend."""
    return connection.in_atomic_block or getattr(connection, "in_atomic_block_mongo", False)


# These run against the default database: SQLite locally, PostgreSQL in CI, and a real MongoDB
# replica set in `make test-mongodb`, where they exercise real MongoDB transactions.


def _merchant(slug: str) -> Merchant:
    return Merchant.objects.create(name=slug, slug=slug)


@pytest.mark.django_db(transaction=True)
def test_atomic_rolls_back_every_write_of_the_block():
    with pytest.raises(Boom), atomic():
        _merchant("rolled-back-1")
        _merchant("rolled-back-2")
        raise Boom
    assert not Merchant.objects.filter(slug__startswith="rolled-back").exists()


@pytest.mark.django_db(transaction=True)
def test_on_commit_runs_only_after_the_outermost_block_commits():
    seen = []

    def callback():
        # runs after COMMIT: no transaction open any more, and the row is visible
        seen.append((_in_transaction(), Merchant.objects.filter(slug="committed").exists()))

    with atomic():
        _merchant("committed")
        with atomic():
            on_commit(callback)
        assert seen == []  # leaving the inner block commits nothing
    assert seen == [(False, True)]


@pytest.mark.django_db(transaction=True)
def test_on_commit_is_dropped_when_the_block_rolls_back():
    seen = []
    with pytest.raises(Boom), atomic():
        on_commit(lambda: seen.append("ran"))
        raise Boom
    assert seen == []
    on_commit(lambda: seen.append("outside"))  # no block open: runs at once
    assert seen == ["outside"]


@pytest.mark.skipif(settings.IS_MONGODB, reason="SQL savepoints; MongoDB has none (next test)")
@pytest.mark.django_db(transaction=True)
def test_sql_nested_block_is_a_savepoint_and_warns_that_mongodb_has_none():
    seen = []
    with pytest.warns(MongoDBPortabilityWarning, match="no savepoints"), atomic():
        _merchant("outer-kept")
        on_commit(lambda: seen.append("outer"))
        with pytest.raises(Boom), atomic():
            _merchant("inner-dropped")
            on_commit(lambda: seen.append("inner"))
            raise Boom
    assert Merchant.objects.filter(slug="outer-kept").exists()
    assert not Merchant.objects.filter(slug="inner-dropped").exists()
    assert seen == ["outer"]


@pytest.mark.skipif(settings.IS_MONGODB, reason="SQL-only warning")
@pytest.mark.django_db  # inside the test case's own transaction: only our blocks count as "outermost"
def test_no_portability_warning_when_the_failure_leaves_the_outer_block_too():
    with warnings.catch_warnings():
        warnings.simplefilter("error", MongoDBPortabilityWarning)
        with pytest.raises(Boom), atomic(), atomic():
            raise Boom
        with atomic():  # nothing leaks from the block above
            _merchant("clean")
        with pytest.warns(MongoDBPortabilityWarning), atomic():
            try:
                with atomic():
                    raise Boom
            except Boom:
                pass


@pytest.mark.django_db(transaction=True)
def test_decorator_forms_and_durable():
    @atomic
    def bare():
        _merchant("bare-decorator")
        raise Boom

    @atomic()
    def called():
        return _in_transaction()

    with pytest.raises(Boom):
        bare()
    assert not Merchant.objects.filter(slug="bare-decorator").exists()
    assert called() is True
    with pytest.raises(RuntimeError, match="durable"), atomic(), atomic(durable=True):
        pass


@pytest.mark.skipif(not settings.IS_MONGODB, reason="needs the MongoDB profile (make test-mongodb)")
@pytest.mark.django_db(transaction=True)
def test_mongodb_caught_nested_failure_rolls_back_real_writes():
    with pytest.raises(TransactionManagementError), atomic():
        _merchant("outer-not-kept")
        try:
            with atomic():
                _merchant("inner-not-kept")
                raise Boom
        except Boom:
            pass
    assert not Merchant.objects.filter(slug__in=["outer-not-kept", "inner-not-kept"]).exists()


# --------------------------------------------------------------------------- the MongoDB branch


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mongodb_alias(django_db_blocker):
    """A second database alias served by django-mongodb-backend, pointing at a port where nothing
    listens. Django asks a new connection for the server version once; there is no server to ask,
    so that one probe is marked as done. Every other line that runs is the backend's own."""
    alias = "mongodb_no_server"
    url = f"mongodb://127.0.0.1:{_closed_port()}/kaleem_test?serverSelectionTimeoutMS=300"
    configured = connections.configure_settings({"default": connections.settings["default"], alias: {}})
    connections.settings[alias] = {**configured[alias], **mongodb_database_settings(url)}
    backend_base.RAN_DB_VERSION_CHECK.add(alias)
    try:
        with django_db_blocker.unblock():
            yield alias
    finally:
        mongo = connections[alias]
        mongo.close_pool()
        del connections[alias]
        del connections.settings[alias]
        backend_base.RAN_DB_VERSION_CHECK.discard(alias)


def test_helper_selects_by_the_connection_vendor(mongodb_alias):
    assert is_mongodb(mongodb_alias) and not is_mongodb()
    assert isinstance(atomic(mongodb_alias), MongoAtomic)
    assert not isinstance(atomic(), MongoAtomic)  # the SQL default keeps Django's atomic


def test_mongodb_block_opens_a_session_transaction_and_runs_on_commit_after_it(mongodb_alias):
    mongo = connections[mongodb_alias]
    seen = []
    with atomic(mongodb_alias):
        assert mongo.in_atomic_block_mongo and mongo.session.in_transaction
        on_commit(lambda: seen.append(mongo.in_atomic_block_mongo), using=mongodb_alias)
        with atomic(mongodb_alias):  # nested: no new transaction, callbacks still wait for the outermost
            on_commit(lambda: seen.append("nested"), using=mongodb_alias)
        assert seen == []
    assert seen == [False, "nested"]
    assert mongo.session is None  # committed and ended


def test_mongodb_exception_aborts_and_drops_callbacks(mongodb_alias):
    mongo = connections[mongodb_alias]
    seen = []
    with pytest.raises(Boom), atomic(mongodb_alias):
        on_commit(lambda: seen.append("ran"), using=mongodb_alias)
        raise Boom
    assert seen == [] and mongo.session is None and not mongo.in_atomic_block_mongo


def test_mongodb_caught_nested_failure_rolls_back_everything_loudly(mongodb_alias):
    mongo = connections[mongodb_alias]
    seen = []
    with pytest.raises(TransactionManagementError, match="no savepoints"), atomic(mongodb_alias):
        on_commit(lambda: seen.append("outer"), using=mongodb_alias)
        try:
            with atomic(mongodb_alias):
                raise Boom
        except Boom:
            pass  # on SQL this would roll back to a savepoint; MongoDB cannot
    assert seen == [] and mongo.session is None
    with atomic(mongodb_alias):  # the flag does not leak into the next transaction
        on_commit(lambda: seen.append("next"), using=mongodb_alias)
    assert seen == ["next"]


def test_mongodb_durable_and_decorator(mongodb_alias):
    with pytest.raises(RuntimeError, match="durable"), atomic(mongodb_alias), atomic(mongodb_alias, durable=True):
        pass

    @atomic(mongodb_alias)
    def work():
        return connections[mongodb_alias].in_atomic_block_mongo

    assert work() is True and work() is True  # re-usable decorator


# --------------------------------------------------------------------------- indexes

# The seeds' performance-critical indexes (issue 10). Each entry: the leading field(s) an index or
# unique constraint must start with, and column sets that must each be inside one such index.
PERFORMANCE_INDEXES = {
    "product": ("merchant", [{"status", "category"}, {"status", "price"}, {"status", "created_at"}]),
    "order": ("merchant", [{"status", "created_at"}, {"contact_id", "created_at"}]),  # contact = customer
    "conversation": ("merchant", [{"status", "last_activity_at"}]),
    "message": ("conversation", [{"created_at"}]),
}
# Provider ids that must be unique (idempotent ingest): model -> field that holds the provider's id.
UNIQUE_PROVIDER_IDS = {
    "product": "external_id",
    "order": "external_id",
    "message": "provider_message_id",
    "webhookevent": "provider_event_id",
    "contactidentity": "external_id",
    "conversation": "external_id",
}
OWNING_APPS = ("catalog", "conversations", "channels", "integrations", "merchants")


def _find_model(name: str) -> type[models.Model] | None:
    for label in OWNING_APPS:
        try:
            return apps.get_model(label, name)
        except LookupError:
            continue
    return None


def _index_field_lists(model: type[models.Model]) -> list[list[str]]:
    lists = [[f.lstrip("-") for f in index.fields] for index in model._meta.indexes if index.fields]
    lists += [list(c.fields) for c in model._meta.constraints if isinstance(c, models.UniqueConstraint) and c.fields]
    lists += [list(fields) for fields in model._meta.unique_together]
    return lists


def _unique_field_sets(model: type[models.Model]) -> list[set[str]]:
    sets = [set(c.fields) for c in model._meta.constraints if isinstance(c, models.UniqueConstraint) and c.fields]
    sets += [set(fields) for fields in model._meta.unique_together]
    sets += [{f.name} for f in model._meta.concrete_fields if f.unique and not f.primary_key]
    return sets


@pytest.mark.parametrize("model_name", sorted(PERFORMANCE_INDEXES))
def test_performance_indexes_exist(model_name):
    model = _find_model(model_name)
    if model is None:
        pytest.skip(f"no {model_name!r} model in {', '.join(OWNING_APPS)} yet")
    leading, needs = PERFORMANCE_INDEXES[model_name]
    leading_lists = [fields for fields in _index_field_lists(model) if fields[0] == leading]
    for need in needs:
        assert any(need <= set(fields) for fields in leading_lists), (
            f"{model._meta.label} needs an index starting with {leading!r} that covers {sorted(need)}; "
            f"it has {_index_field_lists(model)}"
        )


@pytest.mark.parametrize("model_name", sorted(UNIQUE_PROVIDER_IDS))
def test_provider_ids_are_unique(model_name):
    model = _find_model(model_name)
    if model is None:
        pytest.skip(f"no {model_name!r} model in {', '.join(OWNING_APPS)} yet")
    field = UNIQUE_PROVIDER_IDS[model_name]
    assert any(field in fields for fields in _unique_field_sets(model)), (
        f"{model._meta.label}.{field} must be unique (alone or with its channel/merchant/source)"
    )


# Indexes MongoDB cannot build that an owning area has been told about; keep it empty. (Note:
# UniqueConstraint(condition=Q(...__isnull=False)) cannot be built — "isnull" is not allowed in
# partial indexes — and is unnecessary: the backend's unique indexes already skip nulls.)
KNOWN_MONGODB_INDEX_PROBLEMS: set[str] = set()


def test_every_index_and_constraint_can_be_built_on_mongodb(mongodb_alias):
    """Builds the pymongo IndexModel for every index and unique constraint with the backend's own
    code (what `migrate` would send), catching lookups MongoDB cannot index, without a server."""
    editor = connections[mongodb_alias].schema_editor()
    problems = {}
    for model in apps.get_models():
        items = [(index, False) for index in model._meta.indexes]
        items += [
            (models.Index(fields=c.fields, name=c.name, condition=c.condition), True)
            for c in model._meta.constraints
            if isinstance(c, models.UniqueConstraint) and c.fields
        ]
        for index, unique in items:
            key = f"{model._meta.label}.{index.name}"
            try:
                index.get_pymongo_index_model(model, editor, unique=unique)
            except Exception as exc:  # NotSupportedError and friends: report them all at once
                problems[key] = f"{type(exc).__name__}: {exc}"
    unexpected = {key: why for key, why in problems.items() if key not in KNOWN_MONGODB_INDEX_PROBLEMS}
    assert not unexpected, unexpected


# --------------------------------------------------------------------------- the static guard


def _guard():
    spec = importlib.util.spec_from_file_location("check_portable_orm", ROOT / "scripts" / "check_portable_orm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BAD_MODULE = '''\
"""A docstring may say select_for_update or name__regex in prose without tripping the guard."""
from django.contrib.postgres.search import SearchVector
from django.db import connection, models, transaction
from django.db.models.functions import MD5
from django.db.models.expressions import RawSQL


class Thing(models.Model):
    id = models.BigAutoField(primary_key=True)
    tags = models.ManyToManyField("catalog.Product")


class Half(models.Func):
    function = "HALF"


def bad(qs):
    qs.raw("SELECT 1")
    qs.extra(where=["1=1"])
    qs.select_for_update().first()
    connection.cursor()
    qs.filter(name__regex="^a")
    qs.filter(**{"name__iregex": "^a"})
    qs.distinct("name")
    qs.model.objects.bulk_create([], ignore_conflicts=True)
    with transaction.atomic():
        pass
    qs.raw("fine here")  # portable-orm: ok not an ORM object in real code
'''

GOOD_MODULE = """\
import uuid

from django.db import IntegrityError, connection, models
from django.db.models import Q

from kaleem.db import atomic, on_commit


class Thing(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tags = models.ManyToManyField("catalog.Product", through="ThingTag")


def good(qs, rows):
    with atomic():
        qs.filter(Q(name__icontains="a") | Q(name__startswith="b")).distinct().update(name="x")
        on_commit(lambda: None)
    if connection.features.supports_ignore_conflicts:
        qs.model.objects.bulk_create(rows, ignore_conflicts=True)
    else:
        for row in rows:
            try:
                with atomic():
                    row.save(force_insert=True)
            except IntegrityError:
                pass
"""


def test_guard_reports_every_forbidden_construct_in_a_bad_file(tmp_path):
    guard = _guard()
    bad = tmp_path / "bad.py"
    bad.write_text(BAD_MODULE)
    problems = guard.check_file(bad, root=tmp_path)
    by_line = {}
    for problem in problems:
        by_line.setdefault(problem.line, []).append(problem.why)
    text = BAD_MODULE.splitlines()

    def line_of(fragment):
        return next(i for i, line in enumerate(text, 1) if fragment in line)

    expected = {
        "django.contrib.postgres.search": "PostgreSQL-only",
        "from django.db import connection, models, transaction": "kaleem.db",
        "import MD5": "MD5",
        "import RawSQL": "RawSQL",
        "BigAutoField(": "integer auto primary keys",
        "ManyToManyField(": "through model",
        "class Half": "custom SQL",
        'qs.raw("SELECT 1")': "QuerySet.raw",
        "qs.extra(": "QuerySet.extra",
        "select_for_update()": "select_for_update",
        "connection.cursor()": "cursor",
        "qs.filter(name__regex": "regex",
        "name__iregex": "regex",
        'distinct("name")': "DISTINCT ON",
        "ignore_conflicts=True": "ignore_conflicts",
        "transaction.atomic()": "kaleem.db.atomic",
    }
    for fragment, why in expected.items():
        found = by_line.get(line_of(fragment), [])
        assert any(why in message for message in found), (fragment, found)
    assert line_of("portable-orm: ok") not in by_line  # the pragma opts a single line out
    assert 1 not in by_line  # prose in a docstring is not a lookup


def test_guard_accepts_portable_code_and_feature_gated_branches(tmp_path):
    good = tmp_path / "good.py"
    good.write_text(GOOD_MODULE)
    assert _guard().check_file(good, root=tmp_path) == []


def test_guard_checks_shared_migrations_for_raw_sql_only(tmp_path):
    migration = tmp_path / "shop" / "migrations" / "0002_speedup.py"
    migration.parent.mkdir(parents=True)
    migration.write_text(
        "from django.db import migrations\n"
        "class Migration(migrations.Migration):\n"
        "    operations = [migrations.RunSQL('CREATE INDEX x ON y (z)')]\n"
        "    ids = models_raw.raw('not checked in migrations')\n"
    )
    problems = _guard().check_file(migration, root=tmp_path)
    assert [(p.line, "RunSQL" in p.why) for p in problems] == [(3, True)]


def test_guard_command_exits_non_zero_on_a_bad_file(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(BAD_MODULE)
    result = _run([PYTHON, "scripts/check_portable_orm.py", str(bad)])
    assert result.returncode == 1 and "select_for_update" in result.stdout


def test_the_project_passes_the_guard():
    guard = _guard()
    packages = guard.project_packages()
    assert {"kaleem", "merchants", "catalog"} <= {p.name for p in packages}
    problems = [str(p) for path in guard.iter_files(packages) for p in guard.check_file(path)]
    assert problems == []
