"""The request id: taken from a sane incoming X-Request-ID (a proxy's) or made here, set for
the request's log lines (cothon/logs.py) and returned in the response's X-Request-ID."""

from __future__ import annotations

from collections.abc import Callable

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from cothon import logs

HEADER = "X-Request-ID"


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = logs.sane_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = rid
        # Not reset on the way out: Django logs a 4xx/5xx ("Not Found", "Internal Server Error")
        # after the middleware has returned. Cleared when the response is finished instead.
        logs.request_id.set(rid)
        response = self.get_response(request)
        response[HEADER] = rid
        return response


def _clear(**kwargs) -> None:
    logs.request_id.set("")


request_finished.connect(_clear, dispatch_uid="cothon.request_id.clear")
