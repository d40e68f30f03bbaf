from rest_framework import serializers


class StartInput(serializers.Serializer):
    locale = serializers.ChoiceField(choices=["ar", "en"], required=False, allow_null=True)
    page = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class SendInput(serializers.Serializer):
    # Length and emptiness are business rules checked in services (stable error codes).
    client_id = serializers.CharField(max_length=64, allow_blank=True)
    text = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=100_000)
    payload = serializers.CharField(required=False, allow_blank=True, max_length=500)
    locale = serializers.ChoiceField(choices=["ar", "en"], required=False)


class IdentifyInput(serializers.Serializer):
    id = serializers.CharField(max_length=128)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    hmac = serializers.CharField(max_length=128)


class HistoryInput(serializers.Serializer):
    before = serializers.CharField(required=False, max_length=64)
    after = serializers.CharField(required=False, max_length=64)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100)
