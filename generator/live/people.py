"""The people behind LiteLLM's user ids: the Entra users of the directory the run read."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from generator import mapping
from generator.directory import Directory, User
from generator.live.drift import nfc
from generator.policy import Identity


class People:
    """Finds the Entra user behind a LiteLLM user id or email."""

    def __init__(self, directory: Directory, identity: Identity) -> None:
        self.users = users = directory.users
        attribute = mapping.GRAPH_ATTRIBUTES[identity.user_id]
        self._by_id = _index(users, lambda key: getattr(users[key], attribute))
        # LiteLLM may hold another id than the policy's (a deployment changed its SSO settings).
        self._by_email = _index(
            users,
            lambda key: (users[key].user_principal_name or "").casefold(),
            lambda key: (users[key].mail or "").casefold(),
        )

    def key(self, user_id: str, email: str | None = None) -> str | None:
        """The object id of the Entra user with this LiteLLM id, else with this email, or None."""
        found = self._by_id.get(nfc(user_id))
        return found or self._by_email.get(nfc(email or user_id).casefold())

    def user(self, key: str | None) -> User | None:
        """The Entra user with this object id, if the directory holds it."""
        return self.users.get(key or "")

    def name(self, key: str | None) -> str:
        """How people recognise an Entra user: the UPN, else the mail ('' when unknown)."""
        user = self.user(key)
        return (user and (user.user_principal_name or user.mail)) or ""

    def domains(self) -> frozenset[str]:
        """The mail domains of the users read (casefolded): the tenant's own addresses."""
        # A guest's mail is another organization's address: members' addresses only.
        members = (u for u in self.users.values() if not u.is_guest)
        found = {domain(a) for u in members for a in (u.user_principal_name, u.mail)}
        return frozenset(found - {""})


def domain(address: str | None) -> str:
    """The casefolded domain of an address ('' for none)."""
    return nfc(address or "").rpartition("@")[2].casefold() if address and "@" in address else ""


def _index(keys: Iterable[str], *values: Callable[[str], str | None]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key in keys:
        for value_of in values:
            value = value_of(key)
            if value:
                found.setdefault(nfc(value), key)
    return found
