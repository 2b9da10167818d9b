from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from cothon.tenancy.selectors import memberships_for_user


def tenancy(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    return {
        "current_tenant": getattr(request, "tenant", None),
        "current_membership": membership,
        "user_memberships": list(memberships_for_user(user=user)),
        "can_edit": bool(membership and membership.has_role("member")),
        "is_tenant_admin": bool(membership and membership.has_role("admin")),
        # make run's SMTP catcher: the nav offers the Outbox (demo) page (docs/routing.md).
        "demo_outbox": bool(settings.COTHON_DEMO_OUTBOX_DIR),
    }
