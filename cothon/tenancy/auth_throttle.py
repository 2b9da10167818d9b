"""Failed API token attempts are counted per client address; past the limit, every token
request from that address is answered 429 until the window ends, valid token or not, so a
token cannot be guessed at speed. Counted in the cache (Redis in production, shared by every
web process; per process on the embedded stack)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.request import Request


def _key(request: Request) -> str:
    return f"cothon:api-auth-failures:{request.META.get('REMOTE_ADDR', '')}"


def refuse_if_throttled(request: Request) -> None:
    if (cache.get(_key(request)) or 0) >= settings.COTHON_API_AUTH_FAILURE_LIMIT:
        raise exceptions.Throttled(wait=settings.COTHON_API_AUTH_FAILURE_WINDOW_SECONDS,
                                   detail="Too many requests with an invalid API token from this address; try again later.")


def record_failure(request: Request) -> None:
    key = _key(request)
    # add() starts the window; incr() never extends it, so the lock ends on time.
    if not cache.add(key, 1, timeout=settings.COTHON_API_AUTH_FAILURE_WINDOW_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=settings.COTHON_API_AUTH_FAILURE_WINDOW_SECONDS)


def reset(address: str) -> None:
    cache.delete(f"cothon:api-auth-failures:{address}")
