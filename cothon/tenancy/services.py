"""Writes for tenants, memberships and API tokens."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from cothon.models import ApiToken, Membership, Role, Tenant


def tenant_create(*, name: str, slug: str, time_zone: str = "America/Toronto") -> Tenant:
    return Tenant.objects.create(name=name, slug=slug, time_zone=time_zone)


def user_get_or_create(*, username: str, email: str, password: str, first_name: str = "", last_name: str = "") -> AbstractBaseUser:
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": email, "first_name": first_name, "last_name": last_name}
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def membership_set(*, tenant: Tenant, user: AbstractBaseUser, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(tenant=tenant, user=user, defaults={"role": Role(role)})
    return membership


@transaction.atomic
def api_token_create(*, membership: Membership) -> tuple[ApiToken, str]:
    """Create a token and return it with the clear key, which is shown once and never stored."""
    key = secrets.token_hex(24)
    token = ApiToken.objects.create(membership=membership, key_digest=ApiToken.digest(key), prefix=key[:8])
    return token, key
