"""Errors that Django answers before (or instead of) a DRF view, in the API's JSON error shape.

DRF's exception handler (cothon/api/exceptions.py) shapes errors raised inside API views. A URL
that matches no route (`/api/v1/opportunities/abc/`), a body over DATA_UPLOAD_MAX_MEMORY_SIZE
read by Django, or a crash outside DRF go through Django's handler400/403/404/500 instead: under
/api/ they answer `{"detail": …, "code": …}` too; elsewhere the HTML pages answer as before.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

API_PREFIX = "/api/"


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def api_error(detail: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None, **kwargs) -> HttpResponse:
    if is_api_request(request):
        if isinstance(exception, RequestDataTooBig):
            return request_too_large()
        return api_error("Bad request.", "bad_request", 400)
    return defaults.bad_request(request, exception, **kwargs)


def permission_denied(request: HttpRequest, exception: Exception | None = None, **kwargs) -> HttpResponse:
    if is_api_request(request):
        return api_error("You do not have permission to perform this action.", "permission_denied", 403)
    return defaults.permission_denied(request, exception, **kwargs)


def page_not_found(request: HttpRequest, exception: Exception | None = None, **kwargs) -> HttpResponse:
    if is_api_request(request):
        return api_error("Not found.", "not_found", 404)
    return defaults.page_not_found(request, exception, **kwargs)


@csrf_exempt  # a PUT to an unknown API URL is a 404, not a CSRF failure page (schemathesis found it)
def not_found_view(request: HttpRequest) -> HttpResponse:
    return api_error("Not found.", "not_found", 404)


def server_error(request: HttpRequest, **kwargs) -> HttpResponse:
    if is_api_request(request):
        return api_error("Server error: the failure was logged.", "server_error", 500)
    return defaults.server_error(request, **kwargs)


def request_too_large_detail() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    size = f"{limit // (1024 * 1024)} MB" if limit % (1024 * 1024) == 0 else f"{limit:,} bytes"
    return f"The request body is larger than {size}."


def request_too_large() -> JsonResponse:
    return api_error(request_too_large_detail(), "request_too_large", 413)
