from typing import Any

from django.core.management.base import BaseCommand

from channels.services import channel_credentials_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every channel's credentials with the first key of FIELD_ENCRYPTION_KEYS. "
        "Rotation: prepend the new key, run this, then remove the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = channel_credentials_rotate()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted credentials of {count} channel(s)."))
