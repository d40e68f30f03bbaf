"""Contrib AppConfigs for the MongoDB profile (installed by kaleem/settings/mongodb.py).

MongoDB has no integer auto-increment, so the contrib models that rely on one get an ObjectId
primary key instead; their migrations for that pk live in kaleem/mongo_migrations/<label>/.
Labels stay the same ("admin", "auth", "contenttypes"), so nothing else changes."""

from django.contrib.admin.apps import AdminConfig
from django.contrib.auth.apps import AuthConfig
from django.contrib.contenttypes.apps import ContentTypesConfig

from kaleem.settings.mongodb import OBJECT_ID_AUTO_FIELD


class MongoAdminConfig(AdminConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD


class MongoAuthConfig(AuthConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD


class MongoContentTypesConfig(ContentTypesConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD
