"""What every tenant-scoped HTML view shares: the role check, dates in the tenant's time zone,
and telling an HTMX fragment request from a whole-page one."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from cothon.tenancy.access import tenant_required


def tenant_zone(request: HttpRequest) -> datetime.tzinfo:
    """The current tenant's time zone (UTC when it is not a known zone name)."""
    try:
        return zoneinfo.ZoneInfo(request.tenant.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def tenant_page(minimum_role: str = "viewer") -> Callable:
    """tenant_required + dates and times rendered in the tenant's time zone."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def in_tenant_zone(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            with timezone.override(tenant_zone(request)):
                return view(request, *args, **kwargs)

        return tenant_required(minimum_role)(in_tenant_zone)

    return decorator


def is_htmx(request: HttpRequest) -> bool:
    """An HTMX request for a fragment. A history restore (back button with an empty htmx
    cache) is not one: it needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request
