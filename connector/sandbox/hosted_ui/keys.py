"""RSA signing keys and the JWKS publishing them (Cognito signs ID and access tokens apart)."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk
from jose.backends.base import Key


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One RS256 key: its `kid`, the private PEM python-jose signs with, and its public halves."""

    kid: str
    private_pem: str
    public_pem: str
    public_jwk: dict[str, Any]
    """The public key as Cognito publishes it: alg, e, kid, kty, n, use."""
    signer: Key = field(repr=False, compare=False)
    """python-jose's parsed private key: parsing a PEM per token would dominate signing time."""
    verifier: Key = field(repr=False, compare=False)

    @classmethod
    def generate(cls, kid: str | None = None) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        # Cognito kids are opaque base64 strings; the shape is all that matters.
        return cls.from_private_pem(kid or base64.b64encode(secrets.token_bytes(30)).decode(), pem)

    @classmethod
    def from_private_pem(cls, kid: str, private_pem: str) -> SigningKey:
        private = serialization.load_pem_private_key(private_pem.encode(), password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise TypeError("the hosted UI signs with RSA keys only")
        public = private.public_key()
        numbers = public.public_numbers()
        public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")
        public_jwk = {
            "alg": "RS256",
            "e": _b64url_uint(numbers.e),
            "kid": kid,
            "kty": "RSA",
            "n": _b64url_uint(numbers.n),
            "use": "sig",
        }
        return cls(
            kid=kid,
            private_pem=private_pem,
            public_pem=public_pem,
            public_jwk=public_jwk,
            signer=jwk.construct(private_pem, "RS256"),
            verifier=jwk.construct(public_pem, "RS256"),
        )

    def renamed(self, kid: str) -> SigningKey:
        """The same key pair under another `kid` (to sign tokens that name an unpublished key)."""
        return SigningKey(
            kid,
            self.private_pem,
            self.public_pem,
            {**self.public_jwk, "kid": kid},
            self.signer,
            self.verifier,
        )


@dataclass(frozen=True, slots=True)
class KeySet:
    """The pool's two published keys plus a foreign one that is never published (bad signatures)."""

    id_token_key: SigningKey
    access_token_key: SigningKey
    foreign_key: SigningKey

    @classmethod
    def generate(cls) -> KeySet:
        """Three fresh 2048-bit keys; tests generate one set per session to stay fast."""
        return cls(SigningKey.generate(), SigningKey.generate(), SigningKey.generate())

    def jwks(self) -> dict[str, Any]:
        return {
            "keys": [dict(self.id_token_key.public_jwk), dict(self.access_token_key.public_jwk)]
        }

    def published(self, kid: str) -> SigningKey | None:
        for key in (self.id_token_key, self.access_token_key):
            if key.kid == kid:
                return key
        return None
