from rest_framework import serializers

from conversations.models import Conversation, Lead, Message


class ContactOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    language = serializers.CharField()


class ConversationOutput(serializers.ModelSerializer):
    contact = serializers.SerializerMethodField()
    channel = serializers.SerializerMethodField()
    assigned_to = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = [
            "id",
            "status",
            "channel",
            "contact",
            "assigned_to",
            "language",
            "unread_count",
            "handoff_reason",
            "last_activity_at",
            "last_inbound_at",
            "closed_at",
            "created_at",
        ]

    def get_contact(self, obj: Conversation) -> dict | None:
        if obj.contact is None:
            return None  # erased on request; the thread stays
        can_see_pii = self.context.get("can_see_pii", False)
        return {
            "id": str(obj.contact.id),
            "name": obj.contact.name,
            "phone": obj.contact.phone if can_see_pii else ("•••" if obj.contact.phone else ""),
            "email": obj.contact.email if can_see_pii else ("•••" if obj.contact.email else ""),
            "language": obj.contact.language,
        }

    def get_channel(self, obj: Conversation) -> dict:
        return {"id": str(obj.channel_id), "kind": obj.channel.kind, "name": obj.channel.name}

    def get_assigned_to(self, obj: Conversation) -> dict | None:
        user = obj.assigned_to
        return {"id": user.pk, "email": user.email} if user else None


class MessageOutput(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = [
            "id",
            "direction",
            "sender",
            "kind",
            "text",
            "elements",
            "attachments",
            "delivery_status",
            "intent",
            "confidence",
            "sent_at",
            "received_at",
            "delivered_at",
            "read_at",
            "created_at",
        ]


class AgentReplyInput(serializers.Serializer):
    text = serializers.CharField(max_length=4000, trim_whitespace=True)


class NoteInput(serializers.Serializer):
    text = serializers.CharField(max_length=4000, trim_whitespace=True)


class AssignInput(serializers.Serializer):
    assignee_id = serializers.IntegerField(allow_null=True)


class ConversationFilterInput(serializers.Serializer):
    status = serializers.CharField(required=False, max_length=80)
    channel = serializers.UUIDField(required=False)
    assigned_to = serializers.CharField(required=False, max_length=20)  # user id or "me"
    unassigned = serializers.BooleanField(required=False, default=False)


class SimulateInput(serializers.Serializer):
    text = serializers.CharField(max_length=10_000, allow_blank=True, trim_whitespace=False)
    session = serializers.CharField(required=False, allow_blank=True, max_length=64)


class AnswerGapsInput(serializers.Serializer):
    days = serializers.IntegerField(required=False, min_value=1, max_value=365, default=30)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)


class ReplyOutput(serializers.Serializer):
    text = serializers.CharField()
    elements = serializers.ListField(child=serializers.DictField())


class EvidenceOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["policy", "faq", "document", "product"])
    id = serializers.CharField()
    score = serializers.FloatField()


class SimulateOutput(serializers.Serializer):
    session = serializers.CharField()
    reply = ReplyOutput()
    intent = serializers.CharField()
    confidence = serializers.FloatField()
    handoff = serializers.BooleanField()
    evidence = EvidenceOutput(many=True)
    latency_ms = serializers.FloatField()


class AnswerGapGroupOutput(serializers.Serializer):
    question = serializers.CharField()
    language = serializers.CharField()
    count = serializers.IntegerField()
    examples = serializers.ListField(child=serializers.CharField())
    reasons = serializers.DictField(child=serializers.IntegerField())
    intents = serializers.DictField(child=serializers.IntegerField())
    last_seen_at = serializers.DateTimeField()


class AnswerGapsOutput(serializers.Serializer):
    results = AnswerGapGroupOutput(many=True)
    kpis = serializers.DictField()


class LeadOutput(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id",
            "status",
            "name",
            "phone",
            "language",
            "source",
            "interest",
            "contact_id",
            "conversation_id",
            "created_at",
            "updated_at",
        ]

    def get_name(self, obj: Lead) -> str:
        return obj.name

    def get_phone(self, obj: Lead) -> str:
        """Viewers see that a number exists, agents and up see it (as for contacts)."""
        if self.context.get("can_see_pii", False):
            return obj.phone
        return "•••" if obj.phone else ""


class LeadFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Lead.Status.choices, required=False)
    conversation_id = serializers.UUIDField(required=False)


class LeadUpdateInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Lead.Status.choices)
