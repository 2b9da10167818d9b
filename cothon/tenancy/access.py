"""Role checks for HTML views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


def tenant_required(minimum_role: str = "viewer") -> Callable:
    """Login + a membership in the current tenant with at least `minimum_role`."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            membership = getattr(request, "membership", None)
            if membership is None:
                return redirect("no_tenant")
            if not membership.has_role(minimum_role):
                raise PermissionDenied(f"This needs the {minimum_role} role; you are {membership.role}.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
