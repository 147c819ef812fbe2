"""The people behind LiteLLM's user ids: the Entra users of the directory the run read."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from generator import mapping
from generator.directory import Directory, User
from generator.live.drift import nfc
from generator.live.holdings import LiveState
from generator.mapping.findings import attribute
from generator.policy import Identity

_OTHER = {"userPrincipalName": "mail", "mail": "userPrincipalName"}


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


def email_attribute_warning(live: LiveState, people: People, identity: Identity) -> str | None:
    """A warning when LiteLLM's emails follow the other Entra attribute for most users."""
    # Applied, the policy's attribute would overwrite every such address, with no error.
    rendered, other = identity.user_email, _OTHER[identity.user_email]
    held = {m.user_id: m.user_email for t in live.teams for m in t.members}
    held |= {m.user_id: m.user_email for o in live.organizations or () for m in o.members}
    held |= {u.user_id: u.user_email for u in live.users or ()}
    counts = {rendered: 0, other: 0}
    for user_id, address in held.items():
        user = people.user(people.key(user_id))
        if user is None or not address:
            continue
        names = {a: _folded(attribute(user, a)) for a in counts}
        if names[rendered] != names[other]:  # the same address either way says nothing
            for name, value in names.items():
                counts[name] += _folded(address) == value
    told = counts[rendered] + counts[other]
    if counts[other] <= counts[rendered]:
        return None
    return (
        f"the emails LiteLLM holds follow Entra's {other} for {counts[other]} of {told} users "
        f"whose {rendered} and {other} differ, but the policy renders {rendered} "
        f"(identity.user_email): terraform apply would overwrite them. If LiteLLM's SSO "
        f"stores {other} (MICROSOFT_USER_EMAIL_ATTRIBUTE), set identity.user_email: {other}"
    )


def _folded(address: str | None) -> str:
    return nfc(address or "").casefold()


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
