"""`Content-Disposition: attachment` for a downloaded object, named after its key (RFC 6266,
with the UTF-8 name in `filename*` as RFC 8187 encodes it and an ASCII `filename` fallback)."""

from __future__ import annotations

import string
import unicodedata
from urllib.parse import quote

FALLBACK_NAME = "download"
# Kept as is in the quoted `filename`: no quote, backslash, semicolon, percent or slash, which
# naive parsers or user agents could read as the end of the value, an escape or a path.
_PLAIN = frozenset(string.ascii_letters + string.digits + " !#$&'()+,-.=@[]^_`{}~")
# RFC 8187 attr-char beyond letters and digits; everything else is percent-encoded.
_ATTR_CHARS = "!#$&+-.^_`|~"


def attachment(key: str) -> str:
    """The header value for the object `key`: its last path segment as the file name."""
    name = file_name(key)
    fallback = _ascii_fallback(name)
    encoded = quote(name, safe=_ATTR_CHARS, encoding="utf-8")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def file_name(key: str) -> str:
    """The key's last non-empty segment (`reports/q1/` names `q1`), with control and format
    characters (line breaks, bidi overrides) replaced by `_`."""
    segment = next((part for part in reversed(key.split("/")) if part), "")
    name = "".join("_" if unicodedata.category(c).startswith("C") else c for c in segment)
    return name or FALLBACK_NAME


def _ascii_fallback(name: str) -> str:
    # Accents fall away (`é` -> `e`); any other character outside _PLAIN becomes `_`.
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c if c in _PLAIN else "_" for c in decomposed if not unicodedata.combining(c))
    return plain.strip() or FALLBACK_NAME
