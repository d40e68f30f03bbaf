"""MongoDB profile: DATABASE_URL=mongodb://… selects django-mongodb-backend."""

from typing import Any


def mongodb_database_settings(url: str) -> dict[str, Any]:
    import django_mongodb_backend

    return django_mongodb_backend.parse_uri(url)
