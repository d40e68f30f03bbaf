import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from kaleem.crypto import decrypt_str, encrypt_str, rotate_str


def test_round_trip_and_prefix():
    token = encrypt_str("هدى 0551234567")
    assert token.startswith("enc:") and "0551234567" not in token
    assert decrypt_str(token) == "هدى 0551234567"
    assert encrypt_str("") == "" and decrypt_str("plain legacy value") == "plain legacy value"


def test_key_rotation():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        token = encrypt_str("secret")
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        assert decrypt_str(token) == "secret"
        rotated = rotate_str(token)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
        assert decrypt_str(rotated) == "secret"
        from cryptography.fernet import InvalidToken

        with pytest.raises(InvalidToken):
            decrypt_str(token)  # the old key is gone: old ciphertexts must have been rotated
