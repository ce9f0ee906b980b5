"""Token encryption at rest: cryptography's MultiFernet (first key encrypts, all decrypt)."""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from connector.errors import ConfigurationError, DecryptionError

log = logging.getLogger(__name__)


class FernetCipher:
    """The Cipher port on MultiFernet. Fernet is AES-128-CBC + HMAC-SHA256, timestamped."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise ConfigurationError("CONNECTOR_ENCRYPTION_KEYS", "at least one key is required")
        try:
            fernets = [Fernet(key.encode("ascii")) for key in keys]
        except (ValueError, UnicodeEncodeError):
            raise ConfigurationError(
                "CONNECTOR_ENCRYPTION_KEYS", "a key is not a valid Fernet key"
            ) from None
        self._primary = fernets[0]
        self._all = MultiFernet(fernets)

    def seal(self, plaintext: str) -> str:
        return self._all.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._all.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise DecryptionError("no configured encryption key opens this secret") from None

    def is_current(self, sealed: str) -> bool:
        try:
            self._primary.decrypt(sealed.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def rotate(self, sealed: str) -> str:
        try:
            return self._all.rotate(sealed.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise DecryptionError("no configured encryption key opens this secret") from None


def generate_key() -> str:
    """A new random Fernet key (32 bytes, url-safe base64)."""
    return Fernet.generate_key().decode("ascii")


def load_or_create_dev_key(path: Path) -> str:
    """The development key kept in a local file, created on first use, with a loud warning."""
    if path.exists():
        key = path.read_text(encoding="ascii").strip()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = generate_key()
        path.touch(mode=0o600)
        path.write_text(key + "\n", encoding="ascii")
    log.warning(
        "CONNECTOR_ENCRYPTION_KEYS is not set: tokens are sealed with the DEVELOPMENT key in %s."
        " Anyone who can read that file can read every stored token. Set"
        " CONNECTOR_ENCRYPTION_KEYS (see `connector encryption-key generate`) for real use.",
        path,
    )
    return key
