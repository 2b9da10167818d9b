"""The navigation's count of open conflicts (Settings › Integrations). Admins only — they are
the ones who resolve, and it spares the query on every other member's page: one indexed COUNT
(conflict_tenant_status), run only when a template prints it (a lazy value)."""

from __future__ import annotations

from django.http import HttpRequest

from sync_engine.conflicts.selectors import conflicts_open_count


def open_conflicts(request: HttpRequest) -> dict:
    membership = getattr(request, "membership", None)
    tenant = getattr(request, "tenant", None)
    if membership is None or tenant is None or not membership.has_role("admin"):
        return {}
    return {"open_conflicts": _LazyCount(lambda: conflicts_open_count(tenant=tenant))}


class _LazyCount:
    """Counts once, on first use in a template (truth test or printing)."""

    def __init__(self, count):
        self._count, self._value = count, None

    def _get(self) -> int:
        if self._value is None:
            self._value = self._count()
        return self._value

    def __bool__(self) -> bool:
        return bool(self._get())

    def __str__(self) -> str:
        return str(self._get())

    def __int__(self) -> int:
        return self._get()

    def __float__(self) -> float:  # the pluralize filter
        return float(self._get())

    def __eq__(self, other) -> bool:
        return self._get() == other

    __hash__ = None
