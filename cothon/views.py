"""Login, logout, tenant switcher, health check."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from cothon.tenancy.middleware import SESSION_KEY
from cothon.tenancy.selectors import membership_for


def locked_out(request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None) -> HttpResponse:
    """django-axes' answer to a locked-out username + address (AXES_LOCKOUT_CALLABLE): the
    branded page, 429, with the wait in minutes."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    response = render(request, "auth/locked_out.html", {
        "failure_limit": settings.AXES_FAILURE_LIMIT, "username": username[:150], "cooloff_minutes": minutes,
    }, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


class CothonLoginView(LoginView):
    template_name = "auth/login.html"
    redirect_authenticated_user = True


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("login")


@login_required
@require_POST
def tenant_switch(request: HttpRequest) -> HttpResponse:
    try:
        tenant_id = int(request.POST.get("tenant", ""))
    except ValueError:
        tenant_id = -1
    membership = membership_for(user=request.user, tenant_id=tenant_id)
    if membership is None:
        messages.error(request, "You are not a member of that organization.")
    else:
        request.session[SESSION_KEY] = membership.tenant_id
        messages.success(request, f"Switched to {membership.tenant.name}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) or _is_record_page(target):
        target = reverse("opportunities:list")
    return redirect(target)


def _is_record_page(url: str) -> bool:
    """A page of one record (its URL carries an id) belongs to one tenant: after switching,
    go to the list instead of the other tenant's 404."""
    try:
        return bool(resolve(urlsplit(url).path).kwargs)
    except Resolver404:
        return True


@login_required
def no_tenant(request: HttpRequest) -> HttpResponse:
    return render(request, "auth/no_tenant.html", status=403)


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})
