"""How deep a JSON document nests, measured on its bytes before any decoder recurses into it
(request bodies at the API's edge, Lambda answers in the gateway)."""

from __future__ import annotations

from itertools import accumulate

MAX_JSON_DEPTH = 128
"""Arrays and objects inside one another, at most (serde_json's default limit). Every request
body of this API nests a handful of levels; a Lambda payload has the rest."""

_OPENERS, _CLOSERS = b"[{", b"]}"
# Brackets as signed steps (+1 / -1 once read as signed bytes); everything else dropped.
_STEPS = bytes(1 if b in _OPENERS else 255 if b in _CLOSERS else 0 for b in range(256))
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _OPENERS + _CLOSERS)


def nests_deeper_than(document: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `document` opens more than `limit` arrays/objects inside one another, brackets
    inside strings aside. Linear and in C but for one pass over the brackets, so it costs no
    more than decoding; a malformed document is left for the decoder to refuse."""
    if document.count(b"[") + document.count(b"{") <= limit:
        return False  # the common case: too few brackets in all to nest that deep
    # Escapes first (an escaped backslash, then an escaped quote), so that every quote left
    # opens or closes a string; the text between quotes is then dropped, and so are its brackets.
    unescaped = document.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside_strings = b"".join(unescaped.split(b'"')[::2])
    brackets = outside_strings.translate(None, _NOT_BRACKETS)
    if len(brackets) <= limit:
        return False
    depths = accumulate(memoryview(brackets.translate(_STEPS)).cast("b"))
    return next(filter(limit.__lt__, depths), None) is not None
