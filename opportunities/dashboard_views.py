"""The Dashboard (the 000 seed's Government Sales Dashboard) in the browser, as CSV per panel and
as JSON (/api/v1/dashboard/). The figures come from opportunities/dashboard.py; these views only
validate the filters and shape the answer."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from cothon.api.schema import CothonAutoSchema
from cothon.tenancy.pages import tenant_page, tenant_zone
from opportunities import dashboard as figures_of
from opportunities.dashboard import (
    GAUGE_GREEN_ABOVE,
    GAUGE_RED_BELOW,
    VALUE_DEFINITION,
    Dashboard,
    DashboardFilters,
)
from opportunities.dashboard_forms import DashboardFilterForm
from opportunities.models import Category, OpportunityStatus
from sync_engine.csv_export import safe_cell

_STATUS_LABELS = dict(OpportunityStatus.choices)
_CATEGORY_LABELS = dict(Category.choices)


def local_today(zone: datetime.tzinfo) -> datetime.date:
    """Today in the tenant's time zone: which quarter and which twelve months the page shows."""
    return timezone.localdate(timezone=zone)


def _money(value: Decimal) -> float:
    return float(value)


def _month_label(month: datetime.date) -> str:
    return f"{month:%b %Y}"


def chart_data(figures: Dashboard) -> dict[str, Any]:
    """What charts.js draws (passed with json_script; the page's tables show the same figures)."""
    funnel, compliance, wins = figures.funnel, figures.compliance, figures.win_rate
    return {
        "funnel": {"labels": [s.label for s in funnel.stages], "counts": [s.count for s in funnel.stages],
                   "values": [_money(s.total_value) for s in funnel.stages]},
        "compliance": {"labels": [b.label for b in compliance.buckets], "counts": [b.count for b in compliance.buckets]},
        "departments": {"labels": [d.name for d in figures.departments],
                        "values": [_money(d.total_value) for d in figures.departments]},
        "gauge": {"value": compliance.active_average, "tone": compliance.tone,
                  "red_below": GAUGE_RED_BELOW, "green_above": GAUGE_GREEN_ABOVE},
        "win_rate": {"labels": [_month_label(m.month) for m in wins.months], "rates": [m.rate for m in wins.months],
                     "won": [m.won for m in wins.months], "lost": [m.lost for m in wins.months]},
    }


def _figures(request: HttpRequest, filters: DashboardFilters) -> Dashboard:
    zone = tenant_zone(request)
    return figures_of.dashboard_figures(tenant=request.tenant, filters=filters, zone=zone, today=local_today(zone))


@tenant_page("viewer")
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form = DashboardFilterForm(request.GET, tenant=request.tenant)
    context: dict[str, Any] = {"form": form, "value_definition": VALUE_DEFINITION,
                               "gauge_red_below": GAUGE_RED_BELOW, "gauge_green_above": GAUGE_GREEN_ABOVE}
    if not form.is_valid():
        # No figures under filters that mean nothing: the errors, and the form to correct them.
        return render(request, "dashboard/index.html", {**context, "errors": form.error_list()}, status=400)
    filters = form.filters()
    figures = _figures(request, filters)
    query = form.query_string()
    context.update({
        "figures": figures, "charts": chart_data(figures), "query": query, "filtered": bool(query),
        "csv": {slug.replace("-", "_"): reverse("dashboard:panel_csv", args=[slug]) + (f"?{query}" if query else "") for slug in PANELS},
    })
    return render(request, "dashboard/index.html", context)


# --- CSV ----------------------------------------------------------------------------------------

Rows = Iterable[list[Any]]


@dataclass(frozen=True)
class _CsvContext:
    """What a panel's CSV needs: each computes only its own figures (one or two queries)."""

    request: HttpRequest
    filters: DashboardFilters
    today: datetime.date
    zone: datetime.tzinfo

    @property
    def tenant(self):
        return self.request.tenant


def _funnel_csv(c: _CsvContext) -> Rows:
    funnel = figures_of.pipeline_funnel(tenant=c.tenant, filters=c.filters)
    yield ["stage", "status", "in_funnel", "opportunities", "total_value"]
    for stage in funnel.stages:
        yield [stage.label, stage.status, "yes", stage.count, stage.total_value]
    yield [funnel.lost.label, funnel.lost.status, "no", funnel.lost.count, funnel.lost.total_value]


def _compliance_csv(c: _CsvContext) -> Rows:
    compliance = figures_of.compliance_figures(tenant=c.tenant, filters=c.filters)
    yield ["score_range", "lowest", "highest", "opportunities"]
    for bucket in compliance.buckets:
        yield [bucket.label, bucket.low, bucket.high, bucket.count]
    yield ["Unscored", "", "", compliance.unscored]


def _departments_csv(c: _CsvContext) -> Rows:
    yield ["rank", "department_id", "department", "opportunities", "total_value"]
    for rank, department in enumerate(figures_of.top_departments(tenant=c.tenant, filters=c.filters), start=1):
        yield [rank, department.department_id, department.name, department.count, department.total_value]


def _closing_csv(c: _CsvContext) -> Rows:
    yield ["closing_date", "reference", "title", "department", "status", "category", "value", "compliance_score", "url"]
    # Every row of the quarter (the page shows the first CLOSING_ROWS).
    rows = figures_of.closing_this_quarter(tenant=c.tenant, filters=c.filters, today=c.today)
    for o in rows.iterator(chunk_size=500):
        yield [o.closing_date.isoformat(), o.reference, o.title, o.department.name if o.department else "",
               _STATUS_LABELS.get(o.status, o.status), _CATEGORY_LABELS.get(o.category, o.category),
               "" if o.value is None else Decimal(o.value).quantize(Decimal("0.01")),
               "" if o.compliance_score is None else o.compliance_score,
               c.request.build_absolute_uri(reverse("opportunities:detail", args=[o.pk]))]


def _gauge_csv(c: _CsvContext) -> Rows:
    compliance = figures_of.compliance_figures(tenant=c.tenant, filters=c.filters)
    yield ["average_compliance", "colour", "active_scored", "active_unscored"]
    yield ["" if compliance.active_average is None else compliance.active_average, compliance.tone or "",
           compliance.active_scored, compliance.active_unscored]


def _win_rate_csv(c: _CsvContext) -> Rows:
    wins = figures_of.win_rate(tenant=c.tenant, filters=c.filters, today=c.today, zone=c.zone)
    yield ["month", "won", "lost", "win_rate_percent"]
    for month in wins.months:
        yield [month.month.strftime("%Y-%m"), month.won, month.lost, "" if month.rate is None else month.rate]
    yield [f"{wins.start:%Y-%m-%d} to {wins.end:%Y-%m-%d}", wins.won, wins.lost, "" if wins.rate is None else wins.rate]


# The panels' CSV, by the name in their URL (/dashboard/<name>.csv).
PANELS: dict[str, Callable[[_CsvContext], Rows]] = {
    "funnel": _funnel_csv,
    "compliance": _compliance_csv,
    "departments": _departments_csv,
    "closing": _closing_csv,
    "gauge": _gauge_csv,
    "win-rate": _win_rate_csv,
}


def _csv_text(rows: Rows) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # BOM: Excel opens UTF-8 correctly (as the sync logs' CSV)
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(str(v) if isinstance(v, Decimal) else v) for v in row])
    return out.getvalue()


@tenant_page("viewer")
@require_GET
def panel_csv(request: HttpRequest, panel: str) -> HttpResponse:
    if panel not in PANELS:
        raise Http404("No such dashboard panel.")
    form = DashboardFilterForm(request.GET, tenant=request.tenant)
    if not form.is_valid():
        return HttpResponse("Invalid filters:\n" + "\n".join(form.error_list()) + "\n", status=400,
                            content_type="text/plain; charset=utf-8")
    zone = tenant_zone(request)
    context = _CsvContext(request, form.filters(), local_today(zone), zone)
    response = HttpResponse(_csv_text(PANELS[panel](context)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (f'attachment; filename="dashboard-{panel}-{request.tenant.slug}-'
                                       f'{context.today.isoformat()}.csv"')
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- API ----------------------------------------------------------------------------------------

def _decimal(value: Decimal) -> str:
    return f"{value:.2f}"


def dashboard_json(request: Request, figures: Dashboard) -> dict[str, Any]:
    f, c, w = figures.filters, figures.compliance, figures.win_rate
    return {
        "today": figures.today.isoformat(),
        "filters": {"department": f.department_id, "category": f.category or None,
                    "closing_from": f.closing_from.isoformat() if f.closing_from else None,
                    "closing_to": f.closing_to.isoformat() if f.closing_to else None},
        "value_definition": VALUE_DEFINITION,
        "funnel": {
            "stages": [{"status": s.status, "label": s.label, "count": s.count, "total_value": _decimal(s.total_value)}
                       for s in figures.funnel.stages],
            "lost": {"count": figures.funnel.lost.count, "total_value": _decimal(figures.funnel.lost.total_value)},
        },
        "compliance": {
            "buckets": [{"label": b.label, "low": b.low, "high": b.high, "count": b.count} for b in c.buckets],
            "unscored": c.unscored,
        },
        "average_compliance": {"value": c.active_average, "tone": c.tone, "active_scored": c.active_scored,
                               "active_unscored": c.active_unscored},
        "top_departments": [{"id": d.department_id, "name": d.name, "count": d.count, "total_value": _decimal(d.total_value)}
                            for d in figures.departments],
        "closing_this_quarter": {
            "start": figures.quarter_start.isoformat(), "end": figures.quarter_end.isoformat(),
            "count": figures.closing_count,
            "opportunities": [{"id": o.pk, "reference": o.reference, "title": o.title, "closing_date": o.closing_date.isoformat(),
                               "status": o.status, "department": o.department.name if o.department else None,
                               "value": None if o.value is None else _decimal(Decimal(o.value)),
                               "compliance_score": o.compliance_score,
                               "url": request.build_absolute_uri(reverse("opportunities:detail", args=[o.pk]))}
                              for o in figures.closing],
        },
        "win_rate": {
            "start": w.start.isoformat(), "end": w.end.isoformat(), "won": w.won, "lost": w.lost, "rate": w.rate,
            "months": [{"month": m.month.strftime("%Y-%m"), "won": m.won, "lost": m.lost, "rate": m.rate} for m in w.months],
        },
    }


_MONEY_SCHEMA = {"type": "string", "format": "decimal", "example": "1250000.00"}
_COUNT = {"type": "integer", "minimum": 0}
_RATE = {"type": "number", "nullable": True, "description": "Percent, one decimal; null with nothing won or lost."}
DASHBOARD_SCHEMA = {
    "type": "object",
    "properties": {
        "today": {"type": "string", "format": "date", "description": "Today in the organization's time zone."},
        "filters": {"type": "object", "description": "The filters applied (null: not filtered)."},
        "value_definition": {"type": "string"},
        "funnel": {"type": "object", "properties": {
            "stages": {"type": "array", "description": "Identified, Analyzing, Pursuing, Submitted, Won (in this order).",
                       "items": {"type": "object", "properties": {"status": {"type": "string"}, "label": {"type": "string"},
                                                                  "count": _COUNT, "total_value": _MONEY_SCHEMA}}},
            "lost": {"type": "object", "properties": {"count": _COUNT, "total_value": _MONEY_SCHEMA}}}},
        "compliance": {"type": "object", "properties": {
            "buckets": {"type": "array", "items": {"type": "object", "properties": {
                "label": {"type": "string"}, "low": {"type": "integer"}, "high": {"type": "integer"}, "count": _COUNT}}},
            "unscored": _COUNT}},
        "average_compliance": {"type": "object", "properties": {
            "value": {"type": "number", "nullable": True}, "tone": {"type": "string", "nullable": True,
                                                                  "enum": ["red", "yellow", "green", None]},
            "active_scored": _COUNT, "active_unscored": _COUNT}},
        "top_departments": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "count": _COUNT, "total_value": _MONEY_SCHEMA}}},
        "closing_this_quarter": {"type": "object", "properties": {
            "start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"},
            "count": _COUNT, "opportunities": {"type": "array", "description": f"The first {figures_of.CLOSING_ROWS}.",
                                               "items": {"type": "object"}}}},
        "win_rate": {"type": "object", "properties": {
            "start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"},
            "won": _COUNT, "lost": _COUNT, "rate": _RATE,
            "months": {"type": "array", "items": {"type": "object", "properties": {
                "month": {"type": "string", "example": "2026-05"}, "won": _COUNT, "lost": _COUNT, "rate": _RATE}}}}},
    },
}


class _OneObjectSchema(CothonAutoSchema):
    """The router's "list" action answers one object, not a page of them."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


class DashboardViewSet(viewsets.ViewSet):
    """The Dashboard's figures as JSON; viewers and up."""

    schema = _OneObjectSchema()

    # A bad filter is a 400 (documented in the schema with the other errors).
    error_statuses = {"list": ["400"]}

    @extend_schema(
        summary="Dashboard figures",
        description="Every figure of the Dashboard page (docs/dashboards.md), narrowed by the same filters.",
        parameters=[
            OpenApiParameter("department", OpenApiTypes.INT, description="A department id of your organization."),
            OpenApiParameter("closing_from", OpenApiTypes.DATE, description="Closing on or after (YYYY-MM-DD)."),
            OpenApiParameter("closing_to", OpenApiTypes.DATE, description="Closing on or before (YYYY-MM-DD)."),
            OpenApiParameter("category", OpenApiTypes.STR, enum=Category.values),
        ],
        responses={200: DASHBOARD_SCHEMA},
        filters=False,
    )
    def list(self, request: Request) -> Response:
        form = DashboardFilterForm(request.query_params, tenant=request.tenant)
        if not form.is_valid():
            raise ValidationError({name: [e["message"] for e in errors] for name, errors in form.errors.get_json_data().items()})
        figures = _figures(request._request, form.filters())
        return Response(dashboard_json(request, figures))
