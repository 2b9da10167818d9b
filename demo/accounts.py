"""The demo tenants and logins (no model imports: `make run` prints these before Django loads)."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_PASSWORD = "cothon-demo-2026"


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    time_zone: str
    people: tuple[tuple[str, str, str, str], ...]  # (username, first, last, role)


DEMO_TENANTS = (
    DemoTenant(
        "maple", "Maple Bid Partners", "America/Toronto",
        (("maple-admin", "Amélie", "Tremblay", "admin"), ("maple-bidmanager", "Jordan", "Singh", "member"),
         ("maple-viewer", "Priya", "Chen", "viewer")),
    ),
    DemoTenant(
        "northwind", "Northwind Public Sector", "America/Vancouver",
        (("northwind-admin", "Liam", "MacDonald", "admin"), ("northwind-bidmanager", "Sofia", "Rossi", "member"),
         ("northwind-viewer", "Noah", "Wilson", "viewer")),
    ),
)
