"""A hand-computed fixture for the Dashboard: thirteen opportunities of Alice's with known values,
statuses, scores and dates around the boundaries, and Bob's records that must never be counted.

"Today" is 2026-05-15 (quarter Apr 1 – Jun 30; win-rate window Jun 1 2025 – May 15 2026), the
tenant's zone America/Toronto. The expected figures are worked out by hand in the tests."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from opportunities.models import Opportunity

TODAY = datetime.date(2026, 5, 15)
D = datetime.date

# (key, status, category, department, closing date, min, max, score, status changed at (UTC) or None)
ROWS = [
    (1, "identified", "it", "ssc", D(2026, 4, 1), 100_000, 200_000, 50, None),          # value 150,000; quarter's 1st day
    (2, "identified", "goods", "pspc", D(2026, 3, 31), 80_000, None, 51, None),          # value 80,000 (min only); day before
    (3, "analyzing", "it", "ssc", D(2026, 6, 30), None, 300_000, 70, None),             # value 300,000 (max only); quarter's last day
    (4, "pursuing", "services", "dnd", D(2026, 7, 1), None, None, 71, None),            # no value; day after the quarter
    (5, "submitted", "it", "pspc", D(2026, 5, 20), 1_000_000, 1_000_000, 85, None),     # 1,000,000
    (6, "submitted", "construction", None, D(2026, 5, 1), 40_000, 60_000, 86, None),    # 50,000; no department
    (7, "won", "it", "ssc", D(2026, 1, 10), 500_000, 700_000, 100, "2026-02-03T15:00:00.000+00:00"),  # 600,000; won in Feb
    (8, "won", "goods", "pspc", D(2025, 1, 1), 10_000, 30_000, 0, "2025-06-01T04:30:00.000+00:00"),   # 20,000; Jun 1 00:30 Toronto: in
    (9, "lost", "it", "ssc", D(2026, 3, 15), 200_000, 400_000, 90, "2025-06-01T03:30:00.000+00:00"),  # 300,000; May 31 23:30 Toronto: out
    (10, "lost", "services", "dnd", D(2026, 4, 20), 60_000, 100_000, None, None),       # 80,000; no status time: closing date, in
    (11, "won", "it", "dnd", D(2026, 5, 15), 5_000, 5_000, None, None),                 # 5,000; closes today: in (window end)
    (12, "identified", "it", "ssc", None, Decimal("1000.00"), Decimal("1001.00"), None, None),  # 1,000.50; no closing date
    (13, "lost", "goods", "pspc", D(2025, 5, 31), 70_000, 70_000, 60, None),             # 70,000; closing date a day before the window
]


@pytest.fixture
def board(alice, bob, department_factory):
    """{"ssc"/"pspc"/"dnd": Department, 1..13: Opportunity, "bob_department": Department}"""
    departments = {
        "ssc": department_factory(alice.tenant, name="Shared Services Canada"),
        "pspc": department_factory(alice.tenant, name="Public Services and Procurement Canada"),
        "dnd": department_factory(alice.tenant, name="National Defence"),
    }
    made: dict = dict(departments)
    for key, status, category, department, closing, low, high, score, changed in ROWS:
        opportunity = Opportunity.objects.create(
            tenant=alice.tenant, title=f"Opportunity {key}", reference=f"REF-{key:02d}", status=status, category=category,
            department=departments.get(department), closing_date=closing, value_min=low, value_max=high,
            compliance_score=score, field_changed_at={"status": changed} if changed else {"title": "2026-01-01T00:00:00.000+00:00"})
        made[key] = opportunity
    # Bob's records: large, in every bucket and window; never in Alice's figures.
    bob_department = department_factory(bob.tenant, name="Shared Services Canada")
    made["bob_department"] = bob_department
    for n, status in enumerate(["identified", "analyzing", "pursuing", "submitted", "won", "lost", "won"]):
        Opportunity.objects.create(
            tenant=bob.tenant, title=f"Bob {n}", reference=f"BOB-{n}", status=status, category="it", department=bob_department,
            closing_date=D(2026, 5, 1), value_min=9_000_000, value_max=9_000_000, compliance_score=10 * n,
            field_changed_at={"status": "2026-05-01T12:00:00.000+00:00"})
    return made
