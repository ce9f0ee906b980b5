"""Where the login page checks credentials: a port, with the in-memory directory used today."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Protocol

from connector.sandbox.hosted_ui.config import SandboxUser


class UserDirectory(Protocol):
    """The users of the pool. Async so a later adapter can ask moto's cognito-idp."""

    async def authenticate(self, username: str, password: str) -> SandboxUser | None:
        """The user when the password is right, else None (never says which part was wrong)."""
        ...

    async def get(self, username: str) -> SandboxUser | None:
        """The user by username, or None once deleted (refreshes then fail with invalid_grant)."""
        ...


class InMemoryUserDirectory:
    """Users held in a dict; `add` and `remove` let tests change the pool while it runs."""

    def __init__(self, users: Iterable[SandboxUser] = ()) -> None:
        self._users = {user.username: user for user in users}

    async def authenticate(self, username: str, password: str) -> SandboxUser | None:
        user = self._users.get(username)
        if user is None:
            return None
        if not hmac.compare_digest(user.password.encode(), password.encode()):
            return None
        return user

    async def get(self, username: str) -> SandboxUser | None:
        return self._users.get(username)

    def add(self, user: SandboxUser) -> None:
        self._users[user.username] = user

    def remove(self, username: str) -> None:
        self._users.pop(username, None)
