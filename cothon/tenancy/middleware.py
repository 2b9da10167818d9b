"""Attach the current tenant and membership to each request.

The tenant comes from the session (the tenant switcher writes it); a user who is not a member
of the stored tenant falls back to their first membership. API token requests get their tenant
from the token in the authentication class instead.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from cothon.tenancy.selectors import membership_for, memberships_for_user

SESSION_KEY = "cothon_tenant_id"


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            membership = None
            tenant_id = request.session.get(SESSION_KEY)
            if tenant_id is not None:
                membership = membership_for(user=user, tenant_id=tenant_id)
            if membership is None:
                membership = memberships_for_user(user=user).first()
                if membership is not None:
                    request.session[SESSION_KEY] = membership.tenant_id
            if membership is not None:
                request.tenant = membership.tenant  # type: ignore[attr-defined]
                request.membership = membership  # type: ignore[attr-defined]
        return self.get_response(request)
