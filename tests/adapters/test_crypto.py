"""FernetCipher: sealing, rotation across keys, and clear failure when no key opens a secret."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from connector.adapters.crypto import FernetCipher, generate_key, load_or_create_dev_key
from connector.errors import ConfigurationError, DecryptionError


def test_sealed_values_hide_the_plaintext_and_open_back() -> None:
    cipher = FernetCipher((generate_key(),))
    sealed = cipher.seal("eyJraWQiOi.secret-token")
    assert "secret-token" not in sealed
    assert cipher.open(sealed) == "eyJraWQiOi.secret-token"
    assert cipher.seal("same") != cipher.seal("same")  # random IV each time


def test_the_first_key_encrypts_and_every_key_decrypts() -> None:
    old, new = generate_key(), generate_key()
    sealed_old = FernetCipher((old,)).seal("token")
    rotated = FernetCipher((new, old))
    assert rotated.open(sealed_old) == "token"
    assert not rotated.is_current(sealed_old)
    fresh = rotated.rotate(sealed_old)
    assert rotated.is_current(fresh)
    assert FernetCipher((new,)).open(fresh) == "token"


def test_a_secret_no_key_opens_raises_decryption_error() -> None:
    sealed = FernetCipher((generate_key(),)).seal("token")
    stranger = FernetCipher((generate_key(),))
    with pytest.raises(DecryptionError):
        stranger.open(sealed)
    with pytest.raises(DecryptionError):
        stranger.rotate(sealed)
    with pytest.raises(DecryptionError):
        stranger.open("not a fernet token at all")


def test_no_keys_or_a_malformed_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="CONNECTOR_ENCRYPTION_KEYS"):
        FernetCipher(())
    with pytest.raises(ConfigurationError, match="CONNECTOR_ENCRYPTION_KEYS"):
        FernetCipher(("A" * 40 + "=",))  # decodes to fewer than 32 bytes


def test_the_development_key_is_created_once_private_and_announced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state" / "dev.key"
    with caplog.at_level(logging.WARNING):
        first = load_or_create_dev_key(path)
    assert path.stat().st_mode & 0o077 == 0
    assert load_or_create_dev_key(path) == first
    Fernet(first.encode())  # a real key
    assert "DEVELOPMENT key" in caplog.text
    assert first not in caplog.text
