from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from kaleem.db import atomic
from kaleem.demo import DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, DEMO_SLUG, demo_loaders
from kaleem.tenancy.roles import Role
from merchants.models import Membership, Merchant
from merchants.services import merchant_create


class Command(BaseCommand):
    help = "Load (or refresh) the demo fashion store and print its owner login. Safe to run repeatedly."

    def handle(self, *args: object, **options: object) -> None:
        User = get_user_model()
        with atomic():
            merchant = Merchant.objects.filter(slug=DEMO_SLUG).first() or merchant_create(
                name="أناقة — Anaqa Fashion", slug=DEMO_SLUG, default_language="ar"
            )
            user = User.objects.filter(username=DEMO_OWNER_EMAIL).first()
            if user is None:
                user = User.objects.create_user(
                    username=DEMO_OWNER_EMAIL,
                    email=DEMO_OWNER_EMAIL,
                    password=DEMO_OWNER_PASSWORD,
                    is_staff=True,
                    is_superuser=True,
                )
            Membership.objects.get_or_create(merchant=merchant, user=user, defaults={"role": Role.OWNER})
        for name, loader in demo_loaders():
            summary = loader(merchant=merchant)
            self.stdout.write(f"  demo {name}: {summary}")
        self.stdout.write(
            self.style.SUCCESS(
                "\nKaleem demo store is ready.\n"
                f"  Dashboard:   http://127.0.0.1:8000/login/   email {DEMO_OWNER_EMAIL}   password {DEMO_OWNER_PASSWORD}\n"
                f"  Storefront:  http://127.0.0.1:8000/demo/{DEMO_SLUG}/\n"
                "  API docs:    http://127.0.0.1:8000/api/docs/\n"
                "  Admin:       http://127.0.0.1:8000/admin/ (same login)\n"
            )
        )
