import factory

from channels.models import Channel
from kaleem.testing.factories import MerchantFactory


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    merchant = factory.SubFactory(MerchantFactory)
    kind = "webchat"
    name = factory.Sequence(lambda n: f"Chat {n}")
    status = "active"
