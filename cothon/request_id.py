"""The request id: taken from a sane incoming X-Request-ID (a proxy's) or made here, set for
the request's log lines (cothon/logs.py) and returned in the response's X-Request-ID."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from cothon import logs

HEADER = "X-Request-ID"


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = logs.sane_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = rid
        token = logs.request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            logs.request_id.reset(token)
        response[HEADER] = rid
        return response
