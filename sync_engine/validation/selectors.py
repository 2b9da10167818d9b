"""Drift reports, read tenant-scoped: another tenant's report or connection is a 404."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from cothon.models import Tenant
from integrations.models import SalesforceConnection
from sync_engine.validation.models import DriftReport, ReportStatus


def drift_report_list(*, tenant: Tenant, connection: SalesforceConnection | None = None) -> QuerySet[DriftReport]:
    reports = DriftReport.objects.filter(tenant=tenant).select_related("connection")
    return reports.filter(connection=connection) if connection is not None else reports


def drift_report_get(*, tenant: Tenant, pk) -> DriftReport:
    return get_object_or_404(DriftReport.objects.select_related("connection"), tenant=tenant, pk=pk)


def drift_report_running(*, tenant: Tenant, connection: SalesforceConnection) -> DriftReport | None:
    return DriftReport.objects.filter(tenant=tenant, connection=connection, status=ReportStatus.RUNNING).first()
