"""Rebuild the analytics roll-up from the source tables (after a deploy that changes the
definitions, a time-zone change, or to repair rows):

    manage.py analytics_rebuild [--days 90] [--merchant <id>]
"""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from conversations.analytics import analytics_days_rebuild, local_day, merchant_tz
from merchants.models import Merchant


class Command(BaseCommand):
    help = "Recompute the stored analytics days (conversations.AnalyticsDay) from messages, gaps and orders."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, default=90, help="closed days back from yesterday (default 90)")
        parser.add_argument("--merchant", default="", help="one store's id (default: every store)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        merchants = Merchant.objects.all()
        if options["merchant"]:
            merchants = merchants.filter(id=options["merchant"])
            if not merchants.exists():
                raise CommandError("No such store.")
        now = timezone.now()
        total = 0
        for merchant in merchants.iterator():
            yesterday = local_day(now, merchant_tz(merchant)) - timedelta(days=1)
            first = yesterday - timedelta(days=options["days"] - 1)
            total += analytics_days_rebuild(merchant=merchant, first=first, last=yesterday, now=now)
        self.stdout.write(f"rebuilt {total} store-days")
