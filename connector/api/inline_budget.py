"""The object bytes one JSON-RPC request may carry inline (base64 in its JSON): `getObject`
answers and `putObject` bodies, summed over a batch, so that a batch can never hold more object
data in memory than one object does. Large objects belong to presigned URLs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from connector.errors import ValidationError

Field = Literal["key", "body"]
"""`key` for an object read inline (`getObject`), `body` for one written (`putObject`)."""
_INSTEAD: dict[Field, str] = {
    "key": "use presign (method GET) and fetch it directly",
    "body": "use presign (method PUT) or PUT /s3/buckets/{bucket}/objects/{key}, which stream",
}


@dataclass
class InlineBudget:
    """One request's allowance; the calls of a batch share it (one event loop, no lock)."""

    total: int
    """Bytes of objects the whole request may carry."""
    per_object: int
    """Bytes one object may have."""
    used: int = 0

    def claim(self, field: Field) -> InlineClaim:
        """A claim for one object, refused at once when the request has nothing left to carry
        (before any AWS call is made for it)."""
        if self.used >= self.total:
            raise _spent(self.total, field)
        return InlineClaim(self, field)


@dataclass
class InlineClaim:
    """The bytes of one object, counted against the budget as they become known."""

    budget: InlineBudget
    field: Field
    size: int = 0

    def grow_to(self, size: int) -> None:
        """Count the object as `size` bytes (its Content-Length, or what was read so far)."""
        if size > self.budget.per_object:
            raise _too_large(self.budget.per_object, self.field)
        if self.budget.used + size - self.size > self.budget.total:
            raise _spent(self.budget.total, self.field)
        self.budget.used += size - self.size
        self.size = size

    def release(self) -> None:
        """Give the bytes back (the object was not carried after all)."""
        self.budget.used -= self.size
        self.size = 0


def _spent(total: int, field: Field) -> ValidationError:
    return ValidationError(
        f"this request already carries {total} bytes of objects inline, the most one request"
        f" may: {_INSTEAD[field]}, or send the call in a request of its own",
        details={"field": field, "requestLimit": total, "use": "presign"},
    )


def _too_large(per_object: int, field: Field) -> ValidationError:
    what = "object" if field == "key" else "body"
    return ValidationError(
        f"the {what} is larger than {per_object} bytes: {_INSTEAD[field]}",
        details={"field": field, "limit": per_object, "use": "presign"},
    )
