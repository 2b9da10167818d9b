"""Reads for tenancy. Every tenant-scoped lookup in the app starts from these."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from cothon.models import ApiToken, Membership, Tenant


def memberships_for_user(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name")


def membership_for(*, user: AbstractBaseUser, tenant_id: int) -> Membership | None:
    return Membership.objects.filter(user=user, tenant_id=tenant_id).select_related("tenant").first()


def tenant_members(*, tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__username")


def api_token_resolve(*, key: str) -> ApiToken | None:
    token = (
        ApiToken.objects.filter(key_digest=ApiToken.digest(key))
        .select_related("membership__tenant", "membership__user")
        .first()
    )
    if token is not None:
        # A cheap conditional write: at most once a minute per token.
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
