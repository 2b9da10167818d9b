"""API usage as Salesforce reports it on every response (`Sforce-Limit-Info`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_API_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


@dataclass(frozen=True)
class ApiUsage:
    used: int
    allowance: int

    @property
    def remaining(self) -> int:
        return max(0, self.allowance - self.used)


def parse_limit_info(header: str | None) -> ApiUsage | None:
    """`api-usage=18/5000; per-app-api-usage=17/250(appName=x)` → ApiUsage(18, 5000)."""
    if not header:
        return None
    match = _API_USAGE.search(header)
    if not match:
        return None
    return ApiUsage(used=int(match.group(1)), allowance=int(match.group(2)))
