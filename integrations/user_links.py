"""Cothon user ↔ Salesforce user of one connection: chosen from the org's active users,
pre-matched by e-mail then name, editable; a raw User Id stays possible but is checked."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from cothon.models import Membership
from integrations.connections import client_for
from integrations.crypto import encrypt_token
from integrations.models import SalesforceConnection, SalesforceUserLink
from integrations.salesforce.soql import soql_quote


def user_links_prefill(*, connection: SalesforceConnection) -> int:
    """Match the tenant's members to active Salesforce users by e-mail (one query). Existing
    links are kept; returns how many were added."""
    User = get_user_model()
    members = list(User.objects.filter(memberships__tenant=connection.tenant).exclude(email=""))
    linked = set(connection.user_links.values_list("user_id", flat=True))
    wanted = [m for m in members if m.pk not in linked]
    if not wanted:
        return 0
    emails = ", ".join(soql_quote(m.email.lower()) for m in wanted)
    records = client_for(connection).query(f"SELECT Id, Email FROM User WHERE IsActive = true AND Email IN ({emails})")["records"]
    by_email = {r["Email"].lower(): r["Id"] for r in records if r.get("Email")}
    added = 0
    with transaction.atomic():
        for member in wanted:
            sf_id = by_email.get(member.email.lower())
            if sf_id:
                SalesforceUserLink.objects.create(connection=connection, user=member, salesforce_user_id=sf_id)
                added += 1
    return added


# --- the org's active users (the picker) ---------------------------------------------------------

ORG_USERS_TTL_SECONDS = 300
ORG_USERS_LIMIT = 2000  # a picker, not a directory: larger orgs use the Id box for the rest


@dataclass(frozen=True)
class OrgUser:
    id: str
    name: str
    email: str
    username: str

    @property
    def label(self) -> str:
        return f"{self.name} — {self.email or self.username}"


def _org_users_key(connection: SalesforceConnection) -> str:
    return f"integrations:org-users:{connection.pk}"


def org_active_users(*, connection: SalesforceConnection, refresh: bool = False) -> list[OrgUser]:
    """The org's active users, through the client layer, cached a few minutes (the picker is
    drawn on every visit of the connection page; users change rarely). Raises SalesforceError
    when the org cannot be read."""
    key = _org_users_key(connection)
    cached = None if refresh else cache.get(key)
    if cached is not None:
        return [OrgUser(*row) for row in cached]
    records = client_for(connection).query_all_iter(
        "SELECT Id, Name, Email, Username FROM User WHERE IsActive = true ORDER BY Name")
    users = []
    for record in records:
        users.append(OrgUser(record["Id"], record.get("Name") or "", record.get("Email") or "", record.get("Username") or ""))
        if len(users) >= ORG_USERS_LIMIT:
            break
    cache.set(key, [(u.id, u.name, u.email, u.username) for u in users], ORG_USERS_TTL_SECONDS)
    return users


def org_users_forget(*, connection: SalesforceConnection) -> None:
    cache.delete(_org_users_key(connection))


def _full_name(user) -> str:
    return " ".join(part for part in (user.first_name, user.last_name) if part).strip().lower()


def suggested_org_user(user, org_users: list[OrgUser]) -> OrgUser | None:
    """The org user a member most likely is: same e-mail, else the one user with the same full
    name (two namesakes are no match)."""
    email = (user.email or "").strip().lower()
    if email:
        for org_user in org_users:
            if org_user.email.lower() == email:
                return org_user
    name = _full_name(user)
    if name:
        namesakes = [u for u in org_users if u.name.strip().lower() == name]
        if len(namesakes) == 1:
            return namesakes[0]
    return None


def _same_id(a: str, b: str) -> bool:
    """A 15-character Id is the case-sensitive prefix of its 18-character form."""
    return a[:15] == b[:15] if a and b else False


_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


@transaction.atomic
def user_link_set(*, connection: SalesforceConnection, user_id: int, salesforce_user_id: str = "", unique_identifier: str = "",
                  username: str = "", password: str | None = None,
                  org_users: list[OrgUser] | None = None) -> SalesforceUserLink:
    """`org_users`: the org's active users when they could be read; a typed Id must then be
    one of them (an inactive or mistyped Id would leave the Owner unchanged, silently)."""
    if not Membership.objects.filter(tenant=connection.tenant, user_id=user_id).exists():
        raise ValidationError({"user": ["That user is not a member of this organization."]})
    salesforce_user_id = salesforce_user_id.strip()
    if salesforce_user_id and (len(salesforce_user_id) not in (15, 18) or not set(salesforce_user_id) <= _ID_CHARS
                               or not salesforce_user_id.startswith("005")):
        raise ValidationError({"salesforce_user_id": ["A Salesforce User Id has 15 or 18 letters and digits and starts with 005."]})
    if salesforce_user_id and org_users is not None:
        match = next((u for u in org_users if _same_id(u.id, salesforce_user_id)), None)
        if match is None:
            raise ValidationError({"salesforce_user_id": [
                f"No active user of this org has the Id {salesforce_user_id}. Pick one from the list, or check that the user is active in Salesforce."]})
        salesforce_user_id = match.id  # store the 18-character form
    link, _ = SalesforceUserLink.objects.get_or_create(connection=connection, user_id=user_id)
    link.salesforce_user_id = salesforce_user_id
    link.unique_identifier = unique_identifier.strip()[:80]
    link.username = username.strip()
    if password is not None:
        link.password_encrypted = encrypt_token(password)
    link.save()
    return link
