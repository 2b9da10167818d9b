"""Cothon user ↔ Salesforce user of one connection: chosen from the org's active users,
pre-matched by e-mail then name, editable; a raw User Id stays possible but is checked."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from cothon.models import Membership
from integrations.connections import ConnectionNotUsable, client_for
from integrations.crypto import decrypt_token, encrypt_token
from integrations.member_logins import member_login, member_session_forget
from integrations.models import CredentialMode, SalesforceConnection, SalesforceUserLink
from integrations.salesforce.errors import SalesforceError
from integrations.salesforce.ids import salesforce_id_problem
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


def _checked_identifier(value: str) -> str:
    """A member's unique identifier (single sign-on: their Staff record id): a well-formed
    Salesforce id or nothing. It is bound into the admin's query as a quoted literal anyway; the
    check catches mistypes and makes sure no text other than an id is ever stored."""
    value = value.strip()
    problem = salesforce_id_problem(value) if value else None
    if problem:
        raise ValidationError({"unique_identifier": [problem]})
    return value


@sensitive_variables()
def _verified_secret(connection: SalesforceConnection, link: SalesforceUserLink, username: str, password: str | None,
                     security_token: str | None) -> bytes | None:
    """The encrypted password + token to store (None: keep the stored one; b"": forget it, the
    username was cleared). In multi-user
    sign-on a changed login is tried once with SOAP login, so a wrong password or token is
    refused at save time rather than at the first appointment pull."""
    if security_token and not password:
        raise ValidationError({"password": ["Type the password too: the password and the security token are stored together."]})
    changed = password is not None or username != link.username
    if not changed or connection.credential_mode != CredentialMode.PER_USER:
        return encrypt_token(password + (security_token or "")) if password is not None else None
    if username and password is None and not link.password_encrypted:
        raise ValidationError({"password": ["Enter this member's Salesforce password (and security token)."]})
    if password is not None and not username:
        raise ValidationError({"username": ["Enter the Salesforce username this password belongs to."]})
    if not username:
        return b""  # the login was removed: no password is kept without its username
    secret = password + (security_token or "") if password is not None else decrypt_token(link.password_encrypted)
    try:
        member_login(connection=connection, username=username, password_and_token=secret)
    except ConnectionNotUsable as exc:
        raise ValidationError({"password": [exc.message]}) from None
    except SalesforceError as exc:
        raise ValidationError({"password": [f"Salesforce refused this login ({exc.code}): {exc.message} "
                                            "Check the username, the password and the security token (Salesforce e-mails a new "
                                            "one after Setup › Reset My Security Token)."]}) from None
    return encrypt_token(secret)


@sensitive_variables()
@transaction.atomic
def user_link_set(*, connection: SalesforceConnection, user_id: int, salesforce_user_id: str = "", unique_identifier: str = "",
                  username: str = "", password: str | None = None, security_token: str | None = None,
                  org_users: list[OrgUser] | None = None) -> SalesforceUserLink:
    """`org_users`: the org's active users when they could be read; a typed Id must then be
    one of them (an inactive or mistyped Id would leave the Owner unchanged, silently).
    `unique_identifier`: a Salesforce record id (15 or 18 characters, checksum checked).
    `password` / `security_token`: None keeps the stored ones; in multi-user sign-on a new login
    is verified with Salesforce (SOAP login) before it is stored, encrypted."""
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
    unique_identifier = _checked_identifier(unique_identifier)
    link = SalesforceUserLink.objects.filter(connection=connection, user_id=user_id).first() or SalesforceUserLink(
        connection=connection, user_id=user_id)
    username = username.strip()
    secret = _verified_secret(connection, link, username, password, security_token)
    link.salesforce_user_id = salesforce_user_id
    link.unique_identifier = unique_identifier
    if username != link.username or secret is not None:
        if link.pk:
            member_session_forget(link=link)
    link.username = username
    if secret is not None:
        link.password_encrypted = secret
    link.save()
    return link
