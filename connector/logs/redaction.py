"""Masks secrets in log text: tokens and JWTs, API keys, codes and confirmations, AWS secret keys
and session tokens, and drops query strings.

Applied to the rendered line (message, exception, stack), not to the arguments one by one: a
secret split between a format string (`token=%s`) and its argument is only visible whole.
Patterns err towards masking: an over-masked line costs a little reading, a leaked token a
revocation. Plain hex (hashes, request ids, key ids) is left alone: no secret here is hex.
"""

from __future__ import annotations

import re

MASK = "[REDACTED]"

# Names whose value is a secret wherever it appears as name=value, name: value, "name": "value".
_SENSITIVE_NAMES = (
    "access_token|refresh_token|id_token|token|code|code_verifier|client_secret|secret|password"
    "|confirmation|state|nonce|api_key|apikey|x-api-key|authorization|aws_secret_access_key"
    "|secret_access_key|secretaccesskey|secretkey|aws_session_token|session_token|sessiontoken"
    "|x-amz-security-token|x-amz-signature|signature|idtoken|accesstoken|refreshtoken|logins"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A URL's or path's query: codes, states, confirmations, presigned signatures travel there.
    (re.compile(r"(?<=[\w/\]])\?[^\s\"'<>]+"), ""),
    # JSON Web Tokens (Cognito access, ID and refresh tokens; any other JWT).
    (re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*"), MASK),
    # Our API keys, `ck_<id>_<secret>`: the id stays readable.
    (re.compile(r"\b(ck_[0-9a-f]+_)[\w-]+"), rf"\g<1>{MASK}"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',]+"), rf"\g<1> {MASK}"),
    # XML answers (STS): <SecretAccessKey>…</SecretAccessKey>, <SessionToken>…
    (
        re.compile(r"(?i)(<(?:SecretAccessKey|SessionToken|SecretKey|\w*Token)>)[^<]*"),
        rf"\g<1>{MASK}",
    ),
    (
        re.compile(
            rf"(?i)([\"']?(?<![\w-])(?:{_SENSITIVE_NAMES})[\"']?\s*[:=]\s*)"
            r"(?!\[REDACTED\])(b?[\"']?)(?:\{[^}]*\}|[^\"'\s,&;}<>]+)"
        ),
        rf"\g<1>\g<2>{MASK}",
    ),
    # Long base64 blobs: session tokens, sealed (Fernet) values.
    (re.compile(r"[A-Za-z0-9/+_-]{100,}={0,2}"), MASK),
)
# AWS secret access keys: 40 characters of base64. A path that happens to be 40 such characters
# (`bucket/connector/connections/X.json`) has a lowercase word as a whole segment; a key almost
# never does, so such a candidate is left readable for the operator.
_AWS_SECRET = re.compile(r"(?<![\w/+=])[A-Za-z0-9/+]{40}(?![\w/+=])")
_PATH_WORD = re.compile(r"(?:^|/)[a-z]{6,}(?:/|$)")


def _mask_aws_secret(match: re.Match[str]) -> str:
    return match.group(0) if _PATH_WORD.search(match.group(0)) else MASK


# Opaque random tokens (states, nonces, verifiers, confirmations, refresh tokens): 32 or more
# URL-safe characters with a letter and a digit. Hex strings are left alone.
_OPAQUE = re.compile(r"(?<![\w-])[\w-]{32,}(?![\w-])")
_HEX = re.compile(r"[0-9a-fA-F-]+")


def _mask_opaque(match: re.Match[str]) -> str:
    text = match.group(0)
    if _HEX.fullmatch(text) or not any(c.isdigit() for c in text):
        return text
    if not any(c.isalpha() for c in text):
        return text
    return MASK


# The shortcut: text that no pattern above can change, told by cheap tests. Shorter than the
# shortest run masked by length (32 characters), a text can only be changed by a '?' or '<', a
# JWT's or our key's start, an authorization scheme, or a sensitive name before ':' or '='.
# Plain hex shorter than an AWS secret (40) is kept by every pattern: request and key ids.
# Most values on a request's lines are one or the other and skip the eight passes (they were
# ~7 % of a served request, and the two lines of each request a quarter of its CPU).
_SHORT = 32
_HEX_KEPT = 40
_NAME_BEFORE_SEPARATOR = re.compile(rf"(?i:{_SENSITIVE_NAMES})[\"']?\s*[:=]")


def _unchanged_by_every_pattern(text: str) -> bool:
    if len(text) < _HEX_KEPT and _HEX.fullmatch(text):
        return True
    if len(text) >= _SHORT or "?" in text or "<" in text or "eyJ" in text or "ck_" in text:
        return False
    lowered = text.lower()
    if "bearer" in lowered or "basic" in lowered:
        return False
    return not (("=" in text or ":" in text) and _NAME_BEFORE_SEPARATOR.search(text))


def redact(text: str) -> str:
    """`text` with every secret it appears to hold masked and query strings dropped."""
    return text if _unchanged_by_every_pattern(text) else redact_fully(text)


def redact_fully(text: str) -> str:
    """`redact` without its shortcut (what the shortcut is tested against)."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    text = _AWS_SECRET.sub(_mask_aws_secret, text)
    return _OPAQUE.sub(_mask_opaque, text)
