"""The Dashboard's figures (the 000 seed's "Government Sales Dashboard"), read from the tenant's
opportunities: pure ORM aggregation, one query per panel whatever the number of opportunities.

Every panel starts from `dashboard_opportunities` (tenant + the page's filters), so a filter
narrows every figure the same way. docs/dashboards.md explains each figure.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Avg, Case, Count, DateField, DateTimeField, DecimalField, F, Q, QuerySet, Sum, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate, TruncMonth
from django.db.models.lookups import Regex

from cothon.models import Tenant
from opportunities.models import Opportunity, OpportunityStatus

S = OpportunityStatus
ACTIVE_STATUSES: tuple[str, ...] = (S.IDENTIFIED, S.ANALYZING, S.PURSUING, S.SUBMITTED)
# The funnel: the active stages in pipeline order, then Won. Lost is no stage of a pipeline
# (it leaves it), so it is reported beside the funnel, not as a bar.
FUNNEL_STATUSES: tuple[str, ...] = (*ACTIVE_STATUSES, S.WON)
# (label, lowest, highest) — both ends included; scores are whole numbers 0–100.
COMPLIANCE_BUCKETS: tuple[tuple[str, int, int], ...] = (("0–50", 0, 50), ("51–70", 51, 70), ("71–85", 71, 85), ("86–100", 86, 100))
GAUGE_RED_BELOW = 60    # average < 60: red
GAUGE_GREEN_ABOVE = 80  # average > 80: green; 60–80 yellow
TOP_DEPARTMENTS = 10
WIN_RATE_MONTHS = 12
_ISO_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([+-][0-9]{2}:[0-9]{2}|Z)$"
VALUE_DEFINITION = ("An opportunity's value is the midpoint of its minimum and maximum value; when only one of the two "
                    "is set, that one; when neither is set it has no value (counted, but adds nothing to a total).")
_MONEY = DecimalField(max_digits=18, decimal_places=3)
_CENT = Decimal("0.01")
# Times ½ rather than ÷ 2: SQLite stores whole amounts as integers and would divide them as such.
_HALF = Decimal("0.5")


@dataclass(frozen=True)
class DashboardFilters:
    """The page's filters; None / "" means "not filtered"."""

    department_id: int | None = None
    closing_from: datetime.date | None = None
    closing_to: datetime.date | None = None
    category: str = ""


def opportunity_value():
    """The one definition of an opportunity's value (VALUE_DEFINITION), as an ORM expression."""
    return Case(
        When(value_min__isnull=False, value_max__isnull=False, then=(F("value_min") + F("value_max")) * Value(_HALF)),
        When(value_min__isnull=False, then=F("value_min")),
        default=F("value_max"),
        output_field=_MONEY,
    )


def _money(value) -> Decimal:
    """A total in dollars and cents (None: nothing to add up → 0)."""
    return Decimal(value or 0).quantize(_CENT)


def dashboard_opportunities(*, tenant: Tenant, filters: DashboardFilters) -> QuerySet[Opportunity]:
    """The tenant's opportunities narrowed by the filters: what every panel counts."""
    qs = Opportunity.objects.filter(tenant=tenant)
    if filters.department_id is not None:
        qs = qs.filter(department_id=filters.department_id)
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.closing_from is not None:
        qs = qs.filter(closing_date__gte=filters.closing_from)
    if filters.closing_to is not None:
        qs = qs.filter(closing_date__lte=filters.closing_to)
    return qs.order_by()


# --- 1. pipeline funnel -------------------------------------------------------------------------

@dataclass(frozen=True)
class Stage:
    status: str
    label: str
    count: int
    total_value: Decimal


@dataclass(frozen=True)
class Funnel:
    stages: list[Stage]  # FUNNEL_STATUSES, in that order, zeros included
    lost: Stage          # beside the funnel

    @property
    def is_empty(self) -> bool:
        return not any(s.count for s in self.stages)


def pipeline_funnel(*, tenant: Tenant, filters: DashboardFilters) -> Funnel:
    rows = {row["status"]: row for row in dashboard_opportunities(tenant=tenant, filters=filters)
            .values("status").annotate(count=Count("id"), total=Sum(opportunity_value()))}
    labels = dict(OpportunityStatus.choices)

    def stage(status: str) -> Stage:
        row = rows.get(status, {})
        return Stage(status, labels[status], row.get("count", 0), _money(row.get("total")))

    return Funnel([stage(s) for s in FUNNEL_STATUSES], stage(S.LOST))


# --- 2 and 5. compliance distribution and the average gauge -------------------------------------

@dataclass(frozen=True)
class Bucket:
    label: str
    low: int
    high: int
    count: int


@dataclass(frozen=True)
class Compliance:
    buckets: list[Bucket]
    unscored: int
    # The gauge: active opportunities (not won or lost) that have a score.
    active_average: float | None  # one decimal
    active_scored: int
    active_unscored: int

    @property
    def scored(self) -> int:
        return sum(b.count for b in self.buckets)

    @property
    def tone(self) -> str | None:
        if self.active_average is None:
            return None
        if self.active_average < GAUGE_RED_BELOW:
            return "red"
        return "green" if self.active_average > GAUGE_GREEN_ABOVE else "yellow"


def compliance_figures(*, tenant: Tenant, filters: DashboardFilters) -> Compliance:
    active = Q(status__in=ACTIVE_STATUSES)
    aggregates = {f"b{i}": Count("id", filter=Q(compliance_score__gte=low, compliance_score__lte=high))
                  for i, (_, low, high) in enumerate(COMPLIANCE_BUCKETS)}
    row = dashboard_opportunities(tenant=tenant, filters=filters).aggregate(
        **aggregates,
        unscored=Count("id", filter=Q(compliance_score__isnull=True)),
        average=Avg("compliance_score", filter=active),
        active_scored=Count("id", filter=active & Q(compliance_score__isnull=False)),
        active_unscored=Count("id", filter=active & Q(compliance_score__isnull=True)),
    )
    average = row["average"]
    return Compliance(
        buckets=[Bucket(label, low, high, row[f"b{i}"]) for i, (label, low, high) in enumerate(COMPLIANCE_BUCKETS)],
        unscored=row["unscored"],
        # Rounded before the colour is chosen, so the colour matches the figure shown.
        active_average=round(float(average), 1) if average is not None else None,
        active_scored=row["active_scored"], active_unscored=row["active_unscored"],
    )


# --- 3. top departments -------------------------------------------------------------------------

@dataclass(frozen=True)
class DepartmentTotal:
    department_id: int
    name: str
    count: int
    total_value: Decimal


def top_departments(*, tenant: Tenant, filters: DashboardFilters, limit: int = TOP_DEPARTMENTS) -> list[DepartmentTotal]:
    """Departments by the total value of their opportunities (every status), largest first; a
    department whose opportunities have no value is left out. Ties: by name."""
    rows = (dashboard_opportunities(tenant=tenant, filters=filters)
            .filter(department__isnull=False)
            .values("department_id", "department__name")
            .annotate(count=Count("id"), total=Sum(opportunity_value()))
            .filter(total__gt=0)
            .order_by("-total", "department__name", "department_id")[:limit])
    return [DepartmentTotal(r["department_id"], r["department__name"], r["count"], _money(r["total"])) for r in rows]


# --- 4. closing this quarter --------------------------------------------------------------------

def quarter_of(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """First and last day of the calendar quarter holding `day`."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = datetime.date(day.year, first_month, 1)
    end = (datetime.date(day.year + 1, 1, 1) if first_month == 10 else datetime.date(day.year, first_month + 3, 1))
    return start, end - datetime.timedelta(days=1)


def closing_this_quarter(*, tenant: Tenant, filters: DashboardFilters, today: datetime.date) -> QuerySet[Opportunity]:
    """Opportunities (every status) closing in the quarter of `today` (the tenant's date), by
    closing date; each with `value` and its department loaded. The closing-date filter narrows
    the quarter further."""
    start, end = quarter_of(today)
    return (dashboard_opportunities(tenant=tenant, filters=filters)
            .filter(closing_date__gte=start, closing_date__lte=end)
            .select_related("department")
            .annotate(value=opportunity_value())
            .order_by("closing_date", "id"))


# --- 6. win rate --------------------------------------------------------------------------------

@dataclass(frozen=True)
class MonthWins:
    month: datetime.date  # its first day
    won: int
    lost: int

    @property
    def rate(self) -> float | None:
        return round(100 * self.won / (self.won + self.lost), 1) if self.won + self.lost else None


@dataclass(frozen=True)
class WinRate:
    start: datetime.date  # first day of the window
    end: datetime.date    # today
    months: list[MonthWins] = field(default_factory=list)

    @property
    def won(self) -> int:
        return sum(m.won for m in self.months)

    @property
    def lost(self) -> int:
        return sum(m.lost for m in self.months)

    @property
    def rate(self) -> float | None:
        return round(100 * self.won / (self.won + self.lost), 1) if self.won + self.lost else None


def win_rate_window(today: datetime.date) -> tuple[datetime.date, list[datetime.date]]:
    """The last twelve calendar months, this one included: (first day, first day of each month)."""
    months = []
    year, month = today.year, today.month
    for _ in range(WIN_RATE_MONTHS):
        months.append(datetime.date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    months.reverse()
    return months[0], months


def closed_on(zone: datetime.tzinfo):
    """The day (tenant's time zone) an opportunity was won or lost: when its status last changed
    (field_changed_at["status"], written by every status change, also a pulled one), else its
    closing date (a record that never changed status in Cothon, e.g. imported as won)."""
    stamp = KeyTextTransform("status", "field_changed_at")
    # Only an ISO time is read as one (the services write nothing else): anything else in the
    # JSON falls back to the closing date instead of failing the whole query on PostgreSQL.
    changed = Case(When(Regex(stamp, Value(_ISO_TIME)), then=Cast(stamp, DateTimeField())), default=None,
                   output_field=DateTimeField())
    return Coalesce(TruncDate(changed, tzinfo=zone), F("closing_date"), output_field=DateField())


def win_rate(*, tenant: Tenant, filters: DashboardFilters, today: datetime.date, zone: datetime.tzinfo) -> WinRate:
    """won / (won + lost) among the opportunities closed (`closed_on`) from the first day of the
    month eleven months ago through today, overall and per month."""
    start, months = win_rate_window(today)
    rows = (dashboard_opportunities(tenant=tenant, filters=filters)
            .filter(status__in=(S.WON, S.LOST))
            .annotate(closed=closed_on(zone))
            .filter(closed__gte=start, closed__lte=today)
            .annotate(month=TruncMonth("closed", output_field=DateField()))
            .values("month")
            .annotate(won=Count("id", filter=Q(status=S.WON)), lost=Count("id", filter=Q(status=S.LOST))))
    by_month = {r["month"]: r for r in rows}
    return WinRate(start, today, [MonthWins(m, by_month.get(m, {}).get("won", 0), by_month.get(m, {}).get("lost", 0))
                                  for m in months])


# --- all of it ----------------------------------------------------------------------------------

CLOSING_ROWS = 100  # rows of "Closing this quarter" on the page and in the API (the CSV has all)


@dataclass(frozen=True)
class Dashboard:
    filters: DashboardFilters
    today: datetime.date
    funnel: Funnel
    compliance: Compliance
    departments: list[DepartmentTotal]
    quarter_start: datetime.date
    quarter_end: datetime.date
    closing: list[Opportunity]
    closing_count: int
    win_rate: WinRate


def dashboard_figures(*, tenant: Tenant, filters: DashboardFilters, zone: datetime.tzinfo,
                      today: datetime.date) -> Dashboard:
    """Every panel's figures: five queries (six when CLOSING_ROWS or more close this quarter),
    whatever the number of opportunities."""
    closing = closing_this_quarter(tenant=tenant, filters=filters, today=today)
    closing_rows = list(closing[:CLOSING_ROWS])
    quarter_start, quarter_end = quarter_of(today)
    return Dashboard(
        filters=filters, today=today,
        funnel=pipeline_funnel(tenant=tenant, filters=filters),
        compliance=compliance_figures(tenant=tenant, filters=filters),
        departments=top_departments(tenant=tenant, filters=filters),
        quarter_start=quarter_start, quarter_end=quarter_end,
        closing=closing_rows,
        closing_count=len(closing_rows) if len(closing_rows) < CLOSING_ROWS else closing.count(),
        win_rate=win_rate(tenant=tenant, filters=filters, today=today, zone=zone),
    )
