"""Each Dashboard figure against the hand-computed fixture (conftest.py)."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal

import pytest

from opportunities import dashboard
from opportunities.dashboard import Compliance, DashboardFilters
from tests.dashboard.conftest import TODAY

pytestmark = pytest.mark.django_db
ZONE = zoneinfo.ZoneInfo("America/Toronto")
NONE = DashboardFilters()


def _funnel(tenant, filters=NONE):
    funnel = dashboard.pipeline_funnel(tenant=tenant, filters=filters)
    return ([(s.status, s.count, s.total_value) for s in funnel.stages], (funnel.lost.count, funnel.lost.total_value))


def test_funnel_counts_and_values_each_stage_in_pipeline_order(alice, board):
    stages, lost = _funnel(alice.tenant)
    assert stages == [
        ("identified", 3, Decimal("231000.50")),  # 150,000 + 80,000 (min only) + 1,000.50 (midpoint)
        ("analyzing", 1, Decimal("300000.00")),   # max only
        ("pursuing", 1, Decimal("0.00")),         # no value: counted, adds nothing
        ("submitted", 2, Decimal("1050000.00")),
        ("won", 3, Decimal("625000.00")),
    ]
    assert lost == (3, Decimal("450000.00"))


def test_compliance_buckets_include_both_ends_and_unscored_is_apart(alice, board):
    compliance = dashboard.compliance_figures(tenant=alice.tenant, filters=NONE)
    # 0–50: 50, 0 · 51–70: 51, 70, 60 · 71–85: 71, 85 · 86–100: 86, 100, 90
    assert [(b.label, b.count) for b in compliance.buckets] == [("0–50", 2), ("51–70", 3), ("71–85", 2), ("86–100", 3)]
    assert compliance.unscored == 3


def test_average_compliance_counts_active_scored_opportunities_only(alice, board):
    compliance = dashboard.compliance_figures(tenant=alice.tenant, filters=NONE)
    # Active and scored: 50, 51, 70, 71, 85, 86 → 413 / 6 = 68.83; won/lost (100, 0, 90, 60) left out.
    assert compliance.active_average == 68.8 and compliance.tone == "yellow"
    assert (compliance.active_scored, compliance.active_unscored) == (6, 1)


@pytest.mark.parametrize(("average", "tone"), [(0.0, "red"), (59.9, "red"), (60.0, "yellow"), (80.0, "yellow"),
                                              (80.1, "green"), (100.0, "green"), (None, None)])
def test_gauge_colour_boundaries(average, tone):
    assert Compliance([], 0, average, 1, 0).tone == tone


def test_top_departments_by_total_value_descending(alice, board):
    rows = dashboard.top_departments(tenant=alice.tenant, filters=NONE)
    assert [(r.name, r.count, r.total_value) for r in rows] == [
        ("Shared Services Canada", 5, Decimal("1351000.50")),                # 150k + 300k + 600k + 300k + 1,000.50
        ("Public Services and Procurement Canada", 4, Decimal("1170000.00")),  # 80k + 1M + 20k + 70k
        ("National Defence", 3, Decimal("85000.00")),                       # 0 + 80k + 5k
    ]
    assert rows[0].department_id == board["ssc"].pk


def test_top_departments_keeps_ten(alice, department_factory, opportunity_factory):
    for n in range(12):
        department = department_factory(alice.tenant, name=f"Department {n:02d}")
        opportunity_factory(alice.tenant, department=department, value_min=1000 * (n + 1), value_max=1000 * (n + 1))
    rows = dashboard.top_departments(tenant=alice.tenant, filters=NONE)
    assert [r.name for r in rows] == [f"Department {n:02d}" for n in range(11, 1, -1)]


def test_closing_this_quarter_takes_the_quarters_first_and_last_day(alice, board):
    rows = list(dashboard.closing_this_quarter(tenant=alice.tenant, filters=NONE, today=TODAY))
    # Apr 1 (1), Apr 20 (10), May 1 (6), May 15 (11), May 20 (5), Jun 30 (3); not Mar 31 (2) nor Jul 1 (4).
    assert [o.reference for o in rows] == ["REF-01", "REF-10", "REF-06", "REF-11", "REF-05", "REF-03"]
    assert rows[0].value == Decimal("150000") and rows[-1].value == Decimal("300000")


@pytest.mark.parametrize(("day", "quarter"), [
    (datetime.date(2026, 1, 1), (datetime.date(2026, 1, 1), datetime.date(2026, 3, 31))),
    (datetime.date(2026, 3, 31), (datetime.date(2026, 1, 1), datetime.date(2026, 3, 31))),
    (datetime.date(2026, 4, 1), (datetime.date(2026, 4, 1), datetime.date(2026, 6, 30))),
    (datetime.date(2026, 9, 30), (datetime.date(2026, 7, 1), datetime.date(2026, 9, 30))),
    (datetime.date(2026, 10, 1), (datetime.date(2026, 10, 1), datetime.date(2026, 12, 31))),
    (datetime.date(2026, 12, 31), (datetime.date(2026, 10, 1), datetime.date(2026, 12, 31))),
])
def test_quarter_boundaries(day, quarter):
    assert dashboard.quarter_of(day) == quarter


def test_win_rate_uses_the_status_change_day_in_the_tenants_zone(alice, board):
    wins = dashboard.win_rate(tenant=alice.tenant, filters=NONE, today=TODAY, zone=ZONE)
    assert (wins.start, wins.end) == (datetime.date(2025, 6, 1), TODAY)
    # In: 7 (won Feb 3), 8 (won Jun 1 00:30 Toronto), 10 (lost, closing Apr 20), 11 (won, closing today).
    # Out: 9 (lost May 31 23:30 Toronto, though its closing date is in the window), 13 (closing May 31 2025).
    assert (wins.won, wins.lost, wins.rate) == (3, 1, 75.0)
    by_month = {m.month: (m.won, m.lost, m.rate) for m in wins.months if m.won or m.lost}
    assert by_month == {datetime.date(2025, 6, 1): (1, 0, 100.0), datetime.date(2026, 2, 1): (1, 0, 100.0),
                        datetime.date(2026, 4, 1): (0, 1, 0.0), datetime.date(2026, 5, 1): (1, 0, 100.0)}
    assert [m.month for m in wins.months][0] == datetime.date(2025, 6, 1) and len(wins.months) == 12


def test_win_rate_window_moves_with_today(alice, board):
    # A day later in the month changes nothing; on Jun 1 2026 the window starts Jul 1 2025: 8 drops out.
    wins = dashboard.win_rate(tenant=alice.tenant, filters=NONE, today=datetime.date(2026, 6, 1), zone=ZONE)
    assert (wins.won, wins.lost) == (2, 1)
    # In UTC, 9 was lost on Jun 1 2025: then it is in.
    wins = dashboard.win_rate(tenant=alice.tenant, filters=NONE, today=TODAY, zone=datetime.UTC)
    assert (wins.won, wins.lost) == (3, 2)


def test_filters_narrow_every_panel(alice, board):
    ssc = DashboardFilters(department_id=board["ssc"].pk)
    stages, lost = _funnel(alice.tenant, ssc)
    assert stages == [("identified", 2, Decimal("151000.50")), ("analyzing", 1, Decimal("300000.00")),
                      ("pursuing", 0, Decimal("0.00")), ("submitted", 0, Decimal("0.00")), ("won", 1, Decimal("600000.00"))]
    assert lost == (1, Decimal("300000.00"))
    compliance = dashboard.compliance_figures(tenant=alice.tenant, filters=ssc)
    assert [b.count for b in compliance.buckets] == [1, 1, 0, 2] and compliance.unscored == 1
    assert compliance.active_average == 60.0 and compliance.tone == "yellow"  # (50 + 70) / 2: the yellow boundary
    assert [d.name for d in dashboard.top_departments(tenant=alice.tenant, filters=ssc)] == ["Shared Services Canada"]
    assert [o.reference for o in dashboard.closing_this_quarter(tenant=alice.tenant, filters=ssc, today=TODAY)] == ["REF-01", "REF-03"]
    wins = dashboard.win_rate(tenant=alice.tenant, filters=ssc, today=TODAY, zone=ZONE)
    assert (wins.won, wins.lost, wins.rate) == (1, 0, 100.0)

    dates = DashboardFilters(closing_from=datetime.date(2026, 4, 15), closing_to=datetime.date(2026, 5, 31))
    stages, lost = _funnel(alice.tenant, dates)
    assert [(s, n) for s, n, _ in stages] == [("identified", 0), ("analyzing", 0), ("pursuing", 0), ("submitted", 2), ("won", 1)]
    assert lost == (1, Decimal("80000.00"))
    assert [o.reference for o in dashboard.closing_this_quarter(tenant=alice.tenant, filters=dates, today=TODAY)] == [
        "REF-10", "REF-06", "REF-11", "REF-05"]
    wins = dashboard.win_rate(tenant=alice.tenant, filters=dates, today=TODAY, zone=ZONE)
    assert (wins.won, wins.lost, wins.rate) == (1, 1, 50.0)  # 11 won, 10 lost

    goods = DashboardFilters(category="goods")
    stages, lost = _funnel(alice.tenant, goods)
    assert [(s, n) for s, n, _ in stages if n] == [("identified", 1), ("won", 1)] and lost == (1, Decimal("70000.00"))
    assert dashboard.compliance_figures(tenant=alice.tenant, filters=goods).active_average == 51.0


def test_another_tenants_records_are_never_counted(bob, board):
    # Bob's own figures: only his seven records.
    stages, lost = _funnel(bob.tenant)
    assert sum(n for _, n, _ in stages) + lost[0] == 7
    # Alice's department id in Bob's filters matches nothing of his.
    stages, _ = _funnel(bob.tenant, DashboardFilters(department_id=board["ssc"].pk))
    assert all(n == 0 for _, n, _ in stages)


def test_empty_tenant_has_empty_figures(alice):
    figures = dashboard.dashboard_figures(tenant=alice.tenant, filters=NONE, zone=ZONE, today=TODAY)
    assert figures.funnel.is_empty and figures.compliance.active_average is None and figures.compliance.scored == 0
    assert figures.departments == [] and figures.closing == [] and figures.closing_count == 0
    assert figures.win_rate.rate is None and len(figures.win_rate.months) == 12


def test_all_figures_take_a_bounded_number_of_queries(alice, opportunity_factory, department_factory,
                                                      django_assert_max_num_queries):
    today = datetime.date.today()

    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            dashboard.dashboard_figures(tenant=alice.tenant, filters=NONE, zone=ZONE, today=today)
        return len(captured)

    department = department_factory(alice.tenant)
    for n in range(3):
        opportunity_factory(alice.tenant, department=department, closing_date=today, status="won")
    few = count_queries()
    for n in range(40):
        opportunity_factory(alice.tenant, department=department, closing_date=today, compliance_score=n,
                            status=["identified", "won", "lost", "submitted"][n % 4])
    with django_assert_max_num_queries(6):
        dashboard.dashboard_figures(tenant=alice.tenant, filters=NONE, zone=ZONE, today=today)
    assert count_queries() == few


def test_win_rate_reads_a_status_time_that_is_not_one_as_missing(alice, board):
    from opportunities.models import Opportunity

    # Not written by Cothon, but never a failed page: the closing date (May 31 2025, outside) decides.
    Opportunity.objects.filter(pk=board[13].pk).update(field_changed_at={"status": "yesterday"})
    Opportunity.objects.filter(pk=board[9].pk).update(field_changed_at={"status": 12})  # → closing date Mar 15 2026: in
    wins = dashboard.win_rate(tenant=alice.tenant, filters=NONE, today=TODAY, zone=ZONE)
    assert (wins.won, wins.lost) == (3, 2)
