"""Cothon user ↔ Salesforce user of one connection: pre-filled by e-mail, editable."""

from __future__ import annotations

from django.contrib.auth import get_user_model
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


_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


@transaction.atomic
def user_link_set(*, connection: SalesforceConnection, user_id: int, salesforce_user_id: str = "", unique_identifier: str = "",
                  username: str = "", password: str | None = None) -> SalesforceUserLink:
    if not Membership.objects.filter(tenant=connection.tenant, user_id=user_id).exists():
        raise ValidationError({"user": ["That user is not a member of this organization."]})
    salesforce_user_id = salesforce_user_id.strip()
    if salesforce_user_id and (len(salesforce_user_id) not in (15, 18) or not set(salesforce_user_id) <= _ID_CHARS
                               or not salesforce_user_id.startswith("005")):
        raise ValidationError({"salesforce_user_id": ["A Salesforce User Id has 15 or 18 letters and digits and starts with 005."]})
    link, _ = SalesforceUserLink.objects.get_or_create(connection=connection, user_id=user_id)
    link.salesforce_user_id = salesforce_user_id
    link.unique_identifier = unique_identifier.strip()[:80]
    link.username = username.strip()
    if password is not None:
        link.password_encrypted = encrypt_token(password)
    link.save()
    return link
