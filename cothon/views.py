"""Login, logout, tenant switcher; liveness, readiness and metrics (docs/monitoring.md)."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from cothon.tenancy.middleware import SESSION_KEY
from cothon.tenancy.selectors import membership_for
from sync_engine.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE, render as render_metrics
from sync_engine.readiness import readiness


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
    """Liveness: the process answers. Touches nothing else (no database), so a slow database
    never gets a healthy process restarted; /readyz checks the dependencies."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: database, broker, each queue's worker heartbeat, beat's last tick; 503 naming
    the checks that failed. `?scope=web`: database and broker only (the web container's own
    health, docs/monitoring.md). Details name no secret (no URL, no password)."""
    ok, checks = readiness(scope="web" if request.GET.get("scope") == "web" else "all")
    failing = [name for name, check in checks.items() if not check["ok"]]
    response = JsonResponse({"status": "ok" if ok else "unavailable", "failing": failing, "checks": checks},
                            status=200 if ok else 503)
    response["Cache-Control"] = "no-store"
    return response


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, for `Authorization: Bearer <COTHON_METRICS_TOKEN>` only; without a
    configured token the endpoint does not exist (404), so it is never open by accident."""
    token = settings.COTHON_METRICS_TOKEN
    if not token:
        raise Http404()
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        response = HttpResponse("Bearer token required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return HttpResponse("Wrong token.\n", status=403, content_type="text/plain")
    response = HttpResponse(render_metrics(), content_type=METRICS_CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response
