"""MongoDB profile: ``DATABASE_URL=mongodb://…`` or ``mongodb+srv://…`` selects django-mongodb-backend.

Everything here is pure: no connection, no DNS lookup, so settings load (and ``makemigrations`` /
``check`` run) without a server. ``kaleem/settings/base.py`` applies it when ``IS_MONGODB``."""

from typing import Any
from urllib.parse import unquote_plus

from django.core.exceptions import ImproperlyConfigured

MONGODB_SCHEMES = ("mongodb://", "mongodb+srv://")
OBJECT_ID_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"

# Contrib apps whose models have integer auto primary keys, which MongoDB cannot store. Each one is
# installed through an AppConfig with ObjectIdAutoField, and its migrations (generated for that pk)
# live under kaleem/mongo_migrations/. Sessions is not here: its pk is the session key (a string),
# and on MongoDB sessions use signed cookies anyway. Our own apps declare UUID pks and need nothing.
MONGODB_CONTRIB_APP_CONFIGS = {
    "django.contrib.admin": "kaleem.mongo_apps.MongoAdminConfig",
    "django.contrib.auth": "kaleem.mongo_apps.MongoAuthConfig",
    "django.contrib.contenttypes": "kaleem.mongo_apps.MongoContentTypesConfig",
}
MONGODB_MIGRATION_MODULES = {
    "admin": "kaleem.mongo_migrations.admin",
    "auth": "kaleem.mongo_migrations.auth",
    "contenttypes": "kaleem.mongo_migrations.contenttypes",
}

# Applied only when the URL does not set them: fail within seconds instead of pymongo's 30 s default
# when the server is down (readiness probes, request latency). The URL always wins.
DEFAULT_CLIENT_OPTIONS = {
    "serverSelectionTimeoutMS": 5000,
    "connectTimeoutMS": 5000,
    "appname": "kaleem",
}


def is_mongodb_url(url: str) -> bool:
    return url.startswith(MONGODB_SCHEMES)


def mongodb_database_settings(url: str) -> dict[str, Any]:
    """A DATABASES entry for a MongoDB connection string.

    The whole string goes to ``HOST`` (the form the backend documents; ``parse_uri`` is deprecated),
    so MongoClient itself reads hosts, credentials, ``replicaSet``, ``tls``, ``authSource`` and the
    timeouts from it. We only take the database name out (the backend needs ``NAME``) and validate
    the options here, so a typo fails at start-up rather than on the first query."""
    from pymongo.uri_parser import split_options

    if not is_mongodb_url(url):
        raise ImproperlyConfigured("A MongoDB DATABASE_URL must start with mongodb:// or mongodb+srv://.")
    scheme_free = url.split("://", 1)[1]
    location, _, query = scheme_free.partition("?")
    _, _, database = location.partition("/")
    database = unquote_plus(database)
    if not database or any(char in database for char in '/\\. "$'):
        raise ImproperlyConfigured(
            f"DATABASE_URL must name the database, e.g. mongodb://host:27017/kaleem?replicaSet=rs0 (got {database!r})."
        )
    try:
        given = split_options(query) if query else {}
    except Exception as exc:  # pymongo raises ConfigurationError / ValueError / InvalidURI
        raise ImproperlyConfigured(f"Invalid option in the MongoDB DATABASE_URL: {exc}") from exc
    given_keys = {key.lower() for key in given}
    options = {key: value for key, value in DEFAULT_CLIENT_OPTIONS.items() if key.lower() not in given_keys}
    return {
        "ENGINE": "django_mongodb_backend",
        "HOST": url,
        "NAME": database,
        "OPTIONS": options,
        # MongoClient is a pool shared by the process; the backend never closes it per request.
        "CONN_MAX_AGE": None,
    }


def mongodb_installed_apps(installed_apps: list[str]) -> list[str]:
    """INSTALLED_APPS with the contrib apps swapped for their ObjectIdAutoField AppConfigs."""
    return [MONGODB_CONTRIB_APP_CONFIGS.get(app, app) for app in installed_apps]
