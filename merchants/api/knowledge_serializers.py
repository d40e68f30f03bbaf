from rest_framework import serializers

from merchants.knowledge.models import Faq, KnowledgeDocument, KnowledgeLanguage, Policy, PolicyKind


class PolicyInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PolicyKind.choices)
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20_000)
    language = serializers.ChoiceField(choices=KnowledgeLanguage.choices, default=KnowledgeLanguage.AR)
    key = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")


class PolicyOutput(serializers.ModelSerializer):
    class Meta:
        model = Policy
        fields = ["id", "kind", "title", "body", "language", "key", "created_at", "updated_at"]


class FaqInput(serializers.Serializer):
    question = serializers.CharField(max_length=500)
    answer = serializers.CharField(max_length=5_000)
    language = serializers.ChoiceField(choices=KnowledgeLanguage.choices, default=KnowledgeLanguage.AR)
    key = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")


class FaqOutput(serializers.ModelSerializer):
    class Meta:
        model = Faq
        fields = ["id", "question", "answer", "language", "key", "created_at", "updated_at"]


class DocumentUploadInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=[("", "auto"), *KnowledgeLanguage.choices], required=False, default="")


class DocumentUpdateInput(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    language = serializers.ChoiceField(choices=[("", "auto"), *KnowledgeLanguage.choices], required=False)


class DocumentOutput(serializers.ModelSerializer):
    class Meta:
        model = KnowledgeDocument
        fields = [
            "id",
            "title",
            "filename",
            "content_type",
            "size_bytes",
            "language",
            "state",
            "error",
            "text_chars",
            "chunk_count",
            "created_at",
            "updated_at",
        ]
