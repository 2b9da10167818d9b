"""Reads of Match Legacy Records, always scoped to the tenant (another tenant's id is a 404 in
the views and the API, which look rows up through these)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from opportunities.models import Opportunity
from sync_engine.legacy.models import ACTIVE_JOB_STATUSES, JobStatus, LegacyMatchJob, LegacyMatchProposal, ProposalStatus

# A running job whose lease ran out this long ago has lost its worker.
STALL_GRACE = datetime.timedelta(seconds=5)
# A queued job no worker picked up within this is shown as stalled (lost message).
QUEUED_STALL = datetime.timedelta(seconds=60)


def legacy_job_stalled(job: LegacyMatchJob, *, now: datetime.datetime | None = None) -> bool:
    """A queued or running job that no worker is doing: it can be resumed."""
    now = now or timezone.now()
    if job.status not in ACTIVE_JOB_STATUSES:
        return False
    if job.status == JobStatus.RUNNING:
        return job.lease_until is None or job.lease_until + STALL_GRACE < now
    return job.queued_at + QUEUED_STALL < now


def legacy_job_latest(*, tenant, connection) -> LegacyMatchJob | None:
    return LegacyMatchJob.objects.filter(tenant=tenant, connection=connection).order_by("-id").first()


def legacy_job_get(*, tenant, pk) -> LegacyMatchJob:
    """Raises LegacyMatchJob.DoesNotExist for another tenant's job."""
    return LegacyMatchJob.objects.select_related("connection", "requested_by").get(tenant=tenant, pk=pk)


@dataclass(frozen=True)
class ProposalFilters:
    status: str = ProposalStatus.OPEN
    min_score: float | None = None
    q: str = ""
    connection_id: int | None = None


def legacy_proposal_list(*, tenant, filters: ProposalFilters = ProposalFilters()) -> QuerySet[LegacyMatchProposal]:
    """Proposals best first (score, then rank for the Salesforce record), with the Cothon
    opportunity and its department."""
    qs = LegacyMatchProposal.objects.filter(tenant=tenant).select_related("opportunity", "opportunity__department", "decided_by")
    if filters.connection_id is not None:
        qs = qs.filter(connection_id=filters.connection_id)
    if filters.status and filters.status != "all":
        qs = qs.filter(status=filters.status)
    if filters.min_score is not None:
        qs = qs.filter(score__gte=filters.min_score)
    if filters.q:
        qs = qs.filter(Q(sf_name__icontains=filters.q) | Q(opportunity__title__icontains=filters.q)
                       | Q(opportunity__reference__icontains=filters.q) | Q(sf_account_name__icontains=filters.q))
    return qs.order_by("-score", "rank", "id")


def legacy_proposal_get(*, tenant, pk, for_update: bool = False) -> LegacyMatchProposal:
    """Raises LegacyMatchProposal.DoesNotExist for another tenant's proposal."""
    qs = LegacyMatchProposal.objects.filter(tenant=tenant)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    return qs.select_related("connection", "opportunity").get(pk=pk)


def legacy_proposal_counts(*, tenant, connection) -> dict[str, int]:
    rows = (LegacyMatchProposal.objects.filter(tenant=tenant, connection=connection).values("status")
            .annotate(n=Count("id")).values_list("status", "n"))
    counts = {status: 0 for status in ProposalStatus.values}
    counts.update(dict(rows))
    return counts


def held_opportunity_ids(*, connection_id: int, record_ids: Iterable[int]) -> set[int]:
    """Opportunities of these whose push waits for a decision: an open proposal in the connection."""
    ids = list(record_ids)
    if not ids:
        return set()
    return set(LegacyMatchProposal.objects.filter(connection_id=connection_id, status=ProposalStatus.OPEN,
                                                  opportunity_id__in=ids).values_list("opportunity_id", flat=True))


def opportunity_title(*, tenant, pk: int) -> str:
    return Opportunity.objects.filter(tenant=tenant, pk=pk).values_list("title", flat=True).first() or ""
