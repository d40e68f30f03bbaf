"""Backfill or re-key the contact-name blind index (`conversations.contact_index`): run once
after deploying it, and after rotating SECRET_KEY.

    manage.py contact_name_index_rebuild [--merchant <id>]
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from conversations.contact_index import contact_name_index_rebuild
from merchants.models import Merchant


class Command(BaseCommand):
    help = "Recompute the searchable name digests of every contact (or one store's)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--merchant", default="", help="one store's id (default: every store)")

    def handle(self, *args: Any, **options: Any) -> None:
        merchant = None
        if options["merchant"]:
            merchant = Merchant.objects.filter(id=options["merchant"]).first()
            if merchant is None:
                raise CommandError("No such store.")
        done = contact_name_index_rebuild(merchant=merchant)
        self.stdout.write(f"indexed {done} contacts")
