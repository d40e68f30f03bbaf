"""Run in subprocesses by test_worker_burst.py: `python -m conversations.tests.burst_helper setup|send`.

setup: migrate a file database, create a store with a webchat channel and a shipping policy (indexed);
send:  record a burst of three customer messages exactly as a channel would (tasks go to Redis)."""

import os
import sys

import django


def main(command: str) -> None:
    django.setup()
    from channels.models import Channel
    from merchants.models import Merchant

    if command == "setup":
        from django.core.management import call_command

        from merchants.knowledge.indexing import knowledge_source_reindex
        from merchants.knowledge.services import policy_create
        from merchants.services import merchant_create

        call_command("migrate", verbosity=0)
        merchant = merchant_create(name="Burst store", slug="burst-store")
        Channel.objects.create(merchant=merchant, kind="webchat", name="chat", status="active")
        policy = policy_create(
            merchant=merchant, kind="shipping", title="Shipping", body="Shipping costs 25 SAR.", language="en"
        )
        knowledge_source_reindex(merchant_id=merchant.pk, source_kind="policy", source_id=policy.id)
        return
    from conversations.services import record_inbound

    merchant = Merchant.objects.get(slug="burst-store")
    channel = Channel.objects.get(merchant=merchant)
    for index, text in enumerate(["hi", "how much", "is shipping?"]):
        record_inbound(merchant=merchant, channel=channel, external_id="v", text=text, provider_message_id=f"b{index}")
    print("sent", os.getpid())


if __name__ == "__main__":
    main(sys.argv[1])
