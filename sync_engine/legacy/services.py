"""Match Legacy Records: start and run the matcher, accept and reject its proposals.

The job is restartable: it reads the org's legacy opportunities in Id order and saves proposals
chunk by chunk with the chunk's last Id as its cursor, under a lease it renews with each chunk.
A killed worker leaves the job "running" with a lease that runs out; starting the matcher again
(or the page's Resume) takes the same job over from its cursor. Proposals are upserted on
(connection, Cothon opportunity, Salesforce id) and a run never changes a decided row's status,
so a rerun neither duplicates a proposal nor brings a rejected pair back.

While a Cothon opportunity has an open proposal its push waits (the opportunity handler asks
`selectors.held_opportunity_ids`): pushing it would create a second Salesforce opportunity
beside the legacy one being reviewed. Accepting, rejecting or the proposal going away queues the
record again."""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.salesforce.errors import ErrorKind, SalesforceError
from sync_engine import links, wakeups
from sync_engine.call_counts import add_calls, call_failed
from sync_engine.governor import get_governor
from sync_engine.legacy import selectors, source
from sync_engine.legacy.models import ACTIVE_JOB_STATUSES, JobStatus, LegacyMatchJob, LegacyMatchProposal, ProposalStatus
from sync_engine.legacy.scoring import CothonIndex, Match
from sync_engine.outbox import Change, record_changes
from sync_engine.vocabulary import Event, Priority, RecordType

logger = logging.getLogger(__name__)

TASK = "sync_engine.legacy.match"
QUEUE = "default"  # the background worker: a long job never delays real-time pushes
LEASE = datetime.timedelta(seconds=90)
CHUNK = 500  # Salesforce opportunities scored and saved per transaction (one cursor step)
CALL_KIND = "legacy_match"


# --- the job ---------------------------------------------------------------------------------

def legacy_match_start(*, connection: SalesforceConnection, actor=None) -> LegacyMatchJob:
    """Queue the matcher for a connection and return its job. A job already queued or running
    is returned as is; one whose worker died (lease run out) is taken over, from its cursor.
    Call inside a transaction: the task is sent when it commits."""
    if connection.status != ConnectionStatus.CONNECTED:
        raise ValidationError(f"The connection “{connection.name}” is {connection.get_status_display().lower()}: "
                              "reconnect it before matching legacy records.")
    now = timezone.now()
    active = LegacyMatchJob.objects.select_for_update().filter(connection=connection, status__in=ACTIVE_JOB_STATUSES).first()
    latest = None if active is not None else (
        LegacyMatchJob.objects.select_for_update().filter(connection=connection).order_by("-id").first())
    if active is not None:
        if not selectors.legacy_job_stalled(active, now=now):
            return active
        # Back to queued (its cursor kept): the next worker to claim it carries on.
        active.status, active.queued_at, active.lease_until, active.lease_owner = JobStatus.QUEUED, now, None, ""
        active.message = "Resumed after the worker stopped; carrying on from the last saved chunk."
        active.save(update_fields=["status", "queued_at", "lease_until", "lease_owner", "message"])
        job = active
    elif latest is not None and latest.status == JobStatus.FAILED:
        # A failed run carries on from its cursor instead of scoring everything again.
        latest.status, latest.finished_at, latest.lease_until, latest.lease_owner = JobStatus.QUEUED, None, None, ""
        latest.queued_at = now
        latest.message = "Started again after it stopped; carrying on from the last saved chunk."
        latest.phase = "Waiting for a worker"
        latest.requested_by = actor or latest.requested_by
        latest.save(update_fields=["status", "finished_at", "queued_at", "lease_until", "lease_owner", "message", "phase",
                                   "requested_by"])
        job = latest
    else:
        try:
            with transaction.atomic():
                job = LegacyMatchJob.objects.create(tenant_id=connection.tenant_id, connection=connection, requested_by=actor,
                                                    phase="Waiting for a worker")
        except IntegrityError:  # another admin started it a moment ago
            return LegacyMatchJob.objects.get(connection=connection, status__in=ACTIVE_JOB_STATUSES)
    job_id = job.pk
    transaction.on_commit(lambda: _send(job_id))
    return job


def _send(job_id: int) -> None:
    try:
        wakeups.send_named(TASK, args=[job_id], queue=QUEUE)
    except Exception:  # noqa: BLE001 - the page shows the job as stalled and offers Resume
        logger.warning("Could not enqueue legacy match job %s", job_id, exc_info=True)


@dataclass
class _Calls:
    connection_id: int
    count: int = 0
    failed: int = 0

    def on_call(self, record) -> None:
        self.count += 1
        self.failed += call_failed(record)
        if record.usage is not None:
            get_governor().observe(self.connection_id, record.usage.used, record.usage.allowance)

    def flush(self) -> int:
        spent, self.count = self.count, 0
        failed, self.failed = self.failed, 0
        if spent:
            add_calls(connection_id=self.connection_id, kind=CALL_KIND, calls=spent, failed=failed)
        return spent


def _claim(job_id: int, owner: str) -> LegacyMatchJob | None:
    now = timezone.now()
    claimed = (LegacyMatchJob.objects.filter(pk=job_id, status__in=ACTIVE_JOB_STATUSES)
               .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
               .update(status=JobStatus.RUNNING, lease_owner=owner, lease_until=now + LEASE, attempts=F("attempts") + 1))
    if not claimed:
        return None
    job = LegacyMatchJob.objects.select_related("connection", "tenant").get(pk=job_id)
    if job.started_at is None:
        job.started_at = now
        LegacyMatchJob.objects.filter(pk=job_id).update(started_at=now)
    return job


class _LeaseLost(Exception):
    """Another worker took the job over (this one was too slow to renew): stop quietly."""


def _save(job: LegacyMatchJob, owner: str, **values) -> None:
    values.setdefault("lease_until", timezone.now() + LEASE)
    if not LegacyMatchJob.objects.filter(pk=job.pk, lease_owner=owner, status=JobStatus.RUNNING).update(**values):
        raise _LeaseLost
    for key, value in values.items():
        setattr(job, key, value)


def legacy_match_run(*, job_id: int, chunk_size: int = CHUNK, client=None) -> LegacyMatchJob | None:
    """The worker's body (Celery task `sync_engine.legacy.match`). None when the job is not
    claimable (finished, or another worker holds a live lease)."""
    owner = uuid.uuid4().hex
    job = _claim(job_id, owner)
    if job is None:
        return None
    connection = job.connection
    calls = _Calls(connection.pk)
    try:
        if connection.status != ConnectionStatus.CONNECTED:
            return _fail(job, owner, f"The connection is {connection.get_status_display().lower()}: reconnect it and run again.")
        admission = get_governor().admit(connection.pk, Priority.FULL)
        if not admission.allowed:
            return _fail(job, owner, f"Salesforce API allowance: {admission.reason or 'paused'}. Run it again later.")
        _save(job, owner, phase="Reading Cothon opportunities")
        index = CothonIndex(source.cothon_candidates(connection=connection))
        _save(job, owner, cothon_total=len(index), phase="Reading Salesforce opportunities without Cothon_Ref__c")
        if client is None:
            from integrations.connections import client_for

            client = client_for(connection, on_call=calls.on_call)
        read = source.read_legacy(connection=connection, client=client,
                                  on_progress=lambda n, how: _save(job, owner, salesforce_total=n, read_with=how,
                                                                   api_calls=job.api_calls + calls.flush()))
        todo = [r for r in read.records if not job.cursor or r.id > job.cursor]
        _save(job, owner, salesforce_total=len(read.records), read_with=read.read_with, processed=len(read.records) - len(todo),
              api_calls=job.api_calls + calls.flush(), phase="Scoring candidates")
        for start in range(0, len(todo), chunk_size):
            chunk = todo[start:start + chunk_size]
            matches = [m for sf in chunk for m in index.matches_for(sf)]
            with transaction.atomic():
                saved = _upsert(job, matches)
                _save(job, owner, processed=job.processed + len(chunk), proposals=job.proposals + saved, cursor=chunk[-1].id)
        with transaction.atomic():
            gone = _supersede_unseen(job)
            _save(job, owner, status=JobStatus.SUCCEEDED, phase="", finished_at=timezone.now(), lease_until=None,
                  message=_summary(job, gone))
        return job
    except _LeaseLost:
        return None
    except SalesforceError as exc:
        if exc.kind is ErrorKind.QUOTA:
            get_governor().pause(connection.pk, 3600.0)
        return _fail(job, owner, f"{exc.code}: {exc.message} Run it again to carry on from where it stopped.", calls)
    except Exception:
        try:
            _fail(job, owner, "The job stopped on an error; run it again to carry on from where it stopped.", calls)
        except Exception:  # noqa: BLE001 - the database itself may be what failed: keep the original error
            logger.warning("Could not mark legacy match job %s as failed", job_id, exc_info=True)
        raise


def _fail(job: LegacyMatchJob, owner: str, message: str, calls: _Calls | None = None) -> LegacyMatchJob:
    spent = calls.flush() if calls else 0
    try:
        _save(job, owner, status=JobStatus.FAILED, phase="", finished_at=timezone.now(), message=message[:2000],
              api_calls=job.api_calls + spent, lease_until=None)
    except _LeaseLost:
        pass
    return job


_REFRESHED = ["job", "sf_name", "sf_close_date", "sf_amount", "sf_account_id", "sf_account_name", "sf_stage", "score",
              "title_score", "date_difference_days", "evidence", "rank", "updated_at"]


def _upsert(job: LegacyMatchJob, matches: list[Match]) -> int:
    """One INSERT … ON CONFLICT for a chunk: new pairs open, known pairs get fresh evidence and
    keep their status (a rejected pair stays rejected)."""
    if not matches:
        return 0
    now = timezone.now()
    rows = [LegacyMatchProposal(
        tenant_id=job.tenant_id, connection_id=job.connection_id, job=job, opportunity_id=m.cothon_id,
        salesforce_id=m.salesforce.id, sf_name=m.salesforce.name[:255], sf_close_date=m.salesforce.close_date,
        sf_amount=m.salesforce.amount, sf_account_id=m.salesforce.account_id, sf_account_name=m.salesforce.account_name[:255],
        sf_stage=m.salesforce.stage[:80], score=m.score, title_score=m.title_score, date_difference_days=m.date_difference_days,
        evidence=m.evidence, rank=m.rank, created_at=now, updated_at=now) for m in matches]
    LegacyMatchProposal.objects.bulk_create(rows, batch_size=1000, update_conflicts=True,
                                            unique_fields=["connection", "opportunity", "salesforce_id"], update_fields=_REFRESHED)
    return len(rows)


def _supersede_unseen(job: LegacyMatchJob) -> int:
    """Open proposals this complete run did not make again (the Salesforce record got its
    Cothon_Ref__c, either side was linked meanwhile, the titles drifted apart) are closed, and
    their held records go out."""
    stale = LegacyMatchProposal.objects.filter(connection_id=job.connection_id, status=ProposalStatus.OPEN).exclude(job=job)
    opportunity_ids = set(stale.values_list("opportunity_id", flat=True))
    count = stale.update(status=ProposalStatus.SUPERSEDED, decided_at=timezone.now(),
                         decision_note="Not proposed again by the latest run.")
    _release(job.tenant, job.connection_id, opportunity_ids)
    return count


def _summary(job: LegacyMatchJob, gone: int) -> str:
    open_count = LegacyMatchProposal.objects.filter(connection_id=job.connection_id, status=ProposalStatus.OPEN).count()
    text = (f"{job.salesforce_total} Salesforce opportunities without Cothon_Ref__c compared with {job.cothon_total} "
            f"unlinked Cothon opportunities: {open_count} proposal{'s' if open_count != 1 else ''} to review.")
    if gone:
        text += f" {gone} earlier proposal{'s are' if gone != 1 else ' is'} no longer a candidate."
    return text


# --- decisions -------------------------------------------------------------------------------

def _release(tenant, connection_id: int, opportunity_ids: Iterable[int]) -> None:
    """Queue the records whose push waited for a decision and no longer has to. One linked
    meanwhile is left alone: a whole-record push would overwrite its Salesforce values."""
    ids = set(opportunity_ids)
    if not ids:
        return
    held = selectors.held_opportunity_ids(connection_id=connection_id, record_ids=ids)
    linked = links.linked_salesforce_ids(connection_id=connection_id, record_type=RecordType.OPPORTUNITY, record_ids=ids,
                                         sobject=source.opportunity_sobject(SalesforceConnection.objects.get(pk=connection_id)))
    ready = sorted(ids - held - set(linked))
    if ready:
        record_changes(tenant=tenant, changes=[Change(RecordType.OPPORTUNITY, pk, Event.UPDATED) for pk in ready],
                       priority=Priority.REALTIME)


def legacy_proposal_accept(*, tenant, proposal_id: int, actor=None) -> LegacyMatchProposal:
    """Link the pair (matched by review) and queue the write of Cothon_Ref__c to the Salesforce
    opportunity through the normal push. Refused with a ValidationError when either side is
    already linked to another record in this connection, or the proposal is no longer a
    candidate. Accepting an accepted proposal again changes nothing."""
    with transaction.atomic():
        proposal = selectors.legacy_proposal_get(tenant=tenant, pk=proposal_id, for_update=True)
        # One accept at a time per connection: two admins cannot link one Salesforce record twice.
        SalesforceConnection.objects.select_for_update().filter(pk=proposal.connection_id).first()
        if proposal.status == ProposalStatus.ACCEPTED:
            return proposal
        if proposal.status == ProposalStatus.SUPERSEDED:
            raise ValidationError("This proposal is no longer a candidate (one side was linked meanwhile, or the last run "
                                  "did not propose it again). Run the matcher again to refresh the list.")
        connection = proposal.connection
        opportunity = proposal.opportunity
        sobject = source.opportunity_sobject(connection)
        other = links.link_of_salesforce_id(connection_id=connection.pk, sobject=sobject, salesforce_id=proposal.salesforce_id)
        if other is not None and (other.record_type, other.record_id) != (RecordType.OPPORTUNITY, opportunity.pk):
            label = selectors.opportunity_title(tenant=tenant, pk=other.record_id) if other.record_type == RecordType.OPPORTUNITY else ""
            raise ValidationError(f"Salesforce opportunity “{proposal.sf_name}” ({proposal.salesforce_id}) is already linked to "
                                  f"Cothon opportunity “{label or other.record_id}”. One Salesforce opportunity links to one "
                                  "Cothon record.")
        current = links.linked_salesforce_ids(connection_id=connection.pk, record_type=RecordType.OPPORTUNITY,
                                              record_ids=[opportunity.pk], sobject=sobject).get(opportunity.pk)
        if current and current != proposal.salesforce_id:
            raise ValidationError(f"“{opportunity.title}” is already linked to Salesforce opportunity {current}. One Cothon "
                                  "record links to one Salesforce opportunity.")
        links.link_by_review(tenant_id=tenant.pk, connection_id=connection.pk, record_type=RecordType.OPPORTUNITY,
                             record_id=opportunity.pk, sobject=sobject, salesforce_id=proposal.salesforce_id)
        now = timezone.now()
        proposal.status = ProposalStatus.ACCEPTED
        proposal.decided_by = actor
        proposal.decided_at = now
        proposal.decision_note = ("" if opportunity.reference else
                                  "No reference number in Cothon: linked by Id, Cothon_Ref__c stays empty.")
        proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])
        # Both sides are now taken: their other open proposals are no longer candidates.
        LegacyMatchProposal.objects.filter(connection=connection, status=ProposalStatus.OPEN).filter(
            Q(salesforce_id=proposal.salesforce_id) | Q(opportunity=opportunity)).exclude(pk=proposal.pk).update(
            status=ProposalStatus.SUPERSEDED, decided_at=now, decision_note=f"The pair “{opportunity.title}” ↔ "
            f"“{proposal.sf_name}” was accepted."[:255])
        # The normal push writes Cothon_Ref__c by Id (only that field: the Salesforce values
        # stay until the next edit or full sync brings Cothon's, by the conflict rules).
        record_changes(tenant=tenant, changes=[Change(RecordType.OPPORTUNITY, opportunity.pk, Event.UPDATED, ("reference",))],
                       priority=Priority.MANUAL)
    return proposal


def legacy_proposal_reject(*, tenant, proposal_id: int, actor=None, note: str = "") -> LegacyMatchProposal:
    """Remember that this pair is not a match: no run proposes it again. An accepted proposal
    cannot be rejected here (the link is undone on the record's Salesforce panel)."""
    with transaction.atomic():
        proposal = selectors.legacy_proposal_get(tenant=tenant, pk=proposal_id, for_update=True)
        if proposal.status == ProposalStatus.ACCEPTED:
            raise ValidationError("This pair was accepted and is linked; it cannot be rejected here.")
        if proposal.status != ProposalStatus.REJECTED:
            proposal.status = ProposalStatus.REJECTED
            proposal.decided_by = actor
            proposal.decided_at = timezone.now()
            proposal.decision_note = note[:255]
            proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])
            _release(tenant, proposal.connection_id, [proposal.opportunity_id])
    return proposal


@dataclass
class BulkOutcome:
    done: list[LegacyMatchProposal] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)


def legacy_proposals_decide(*, tenant, proposal_ids: Iterable[int], accept: bool, actor=None) -> BulkOutcome:
    """Accept or reject several proposals, each in its own transaction: one refused (its
    Salesforce opportunity already taken by an earlier one of the selection, say) never undoes
    the others. Ids of another tenant are refused like missing ones."""
    outcome = BulkOutcome()
    for pk in dict.fromkeys(int(i) for i in proposal_ids):
        try:
            proposal = (legacy_proposal_accept if accept else legacy_proposal_reject)(tenant=tenant, proposal_id=pk, actor=actor)
        except ValidationError as exc:
            outcome.errors[pk] = " ".join(exc.messages)
        except LegacyMatchProposal.DoesNotExist:
            outcome.errors[pk] = "No such proposal."
        else:
            outcome.done.append(proposal)
    return outcome
