"""Writes for the bid team's records. Each service validates, saves, and records the change in
the sync engine in the same transaction (`sync_engine.outbox.record_change`)."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from cothon.bulk import update_rows
from cothon.models import Tenant
from opportunities.models import (
    AnalysisStatus,
    BidAnalysis,
    BidAnalysisStatus,
    Comment,
    Contact,
    Department,
    Opportunity,
    OpportunityContact,
    OpportunityStatus,
    Requirement,
)
from sync_engine.vocabulary import Event, Origin, RecordType
from sync_engine.outbox import Change, record_change, record_changes

OPPORTUNITY_FIELDS = (
    "title", "reference", "value_min", "value_max", "closing_date", "department", "status", "category",
    "procurement_method", "location", "unspsc_code", "compliance_score", "pursuit_decision",
    "win_probability", "analysis_status", "assignee", "last_analyzed_at", "description",
)


def _validate(instance, *, exclude: list[str] | None = None) -> None:
    """Model validation (types, lengths, choices, unique constraints) with field-keyed errors."""
    instance.full_clean(exclude=exclude)


# --- departments ---------------------------------------------------------------------------

def _unique_department_key(tenant: Tenant, name: str) -> str:
    base = slugify(name)[:70] or "department"
    key, n = base, 2
    while Department.objects.filter(tenant=tenant, key=key).exists():
        key, n = f"{base}-{n}", n + 1
    return key


@transaction.atomic
def department_create(*, tenant: Tenant, name: str, acronym: str = "", website: str = "",
                      origin: str = Origin.COTHON, origin_connection_id: int | None = None,
                      created_by: AbstractBaseUser | None = None, related_user: AbstractBaseUser | None = None) -> Department:
    """`origin`/`origin_connection_id`: a department created by the pull (an imported
    opportunity's Account) is not sent back to the org it came from. `related_user`: who looks
    after it (a quote's Account: the quote settings' owner)."""
    department = Department(tenant=tenant, name=name.strip(), acronym=acronym, website=website, related_user=related_user)
    department.key = _unique_department_key(tenant, department.name)
    _stamp(department, [f for f in ("name", "acronym", "website") if getattr(department, f)], by=created_by)
    _validate(department)
    department.save()
    record_change(tenant=tenant, record_type=RecordType.DEPARTMENT, record_id=department.pk, event=Event.CREATED,
                  changed_fields=["name", "acronym", "website"], origin=origin, origin_connection_id=origin_connection_id)
    return department


@transaction.atomic
def department_update(*, tenant: Tenant, department: Department, data: Mapping[str, Any], origin: str = Origin.COTHON,
                      origin_connection_id: int | None = None, changed_at: datetime.datetime | None = None,
                      changed_by: AbstractBaseUser | None = None) -> Department:
    """`origin`/`origin_connection_id`: a rename pulled from Salesforce (its Account renamed) is
    not sent back to the org it came from. `changed_at` / `changed_by`: as opportunity_update."""
    _assert_tenant(department, tenant)
    changed = _apply(department, data, ("name", "acronym", "website"))
    if changed:
        _stamp(department, changed, changed_at, by=changed_by)
        _validate(department)
        department.save()
        record_change(tenant=tenant, record_type=RecordType.DEPARTMENT, record_id=department.pk, event=Event.UPDATED,
                      changed_fields=changed, origin=origin, origin_connection_id=origin_connection_id)
    return department


@transaction.atomic
def department_delete(*, tenant: Tenant, department: Department) -> None:
    """Delete a department no opportunity is for (a typo, a duplicate). Its Salesforce Account
    is kept, like a deleted opportunity's record. Contacts of it keep existing, without one."""
    _assert_tenant(department, tenant)
    in_use = department.opportunities.count()
    if in_use:
        raise ValidationError({"department": [
            f"{in_use} opportunit{'y is' if in_use == 1 else 'ies are'} for this department: "
            "choose another department on them first."]})
    department.delete()


def department_get_or_create(*, tenant: Tenant, name: str) -> Department:
    existing = Department.objects.filter(tenant=tenant, name__iexact=name.strip()).first()
    return existing or department_create(tenant=tenant, name=name)


@transaction.atomic
def contact_create(*, tenant: Tenant, last_name: str, department: Department | None = None, origin: str = Origin.COTHON,
                   origin_connection_id: int | None = None, **fields: Any) -> Contact:
    """`origin`/`origin_connection_id`: a contact created by the pull (a Salesforce Contact in an
    opportunity's contact roles) is not sent back to the org it came from."""
    if department is not None:
        _assert_tenant(department, tenant)
    # Trimmed as contact_update trims: a name of spaces is a blank name, refused below.
    fields = {name: value.strip() if isinstance(value, str) else value for name, value in fields.items()}
    contact = Contact(tenant=tenant, last_name=(last_name or "").strip(), department=department, **fields)
    _validate(contact)
    contact.save()
    record_change(tenant=tenant, record_type=RecordType.CONTACT, record_id=contact.pk, event=Event.CREATED,
                  changed_fields=["first_name", "last_name", "email", "phone", "job_title", "department"],
                  origin=origin, origin_connection_id=origin_connection_id)
    return contact


@dataclass
class ContactRole:
    """One contact of an opportunity as Salesforce holds it (an OpportunityContactRole)."""

    contact_id: int
    role: str
    is_primary: bool
    salesforce_role_id: str


@transaction.atomic
def opportunity_contacts_set_from_salesforce(*, tenant: Tenant, opportunity_roles: Mapping[int, Sequence[ContactRole]],
                                             connection_id: int) -> int:
    """Make each opportunity's contacts pulled from one connection what Salesforce holds: a role
    new in Salesforce is added, a changed role or primary flag updated, a role gone from
    Salesforce removed. Contacts added in Cothon (or pulled from another connection) are left
    alone; a contact added in Cothon and also named in Salesforce takes Salesforce's role.
    Idempotent (a replayed pull writes nothing). Returns the number of rows written."""
    if not opportunity_roles:
        return 0
    existing = {(row.opportunity_id, row.contact_id): row for row in OpportunityContact.objects.select_for_update().filter(
        tenant=tenant, opportunity_id__in=list(opportunity_roles))}
    valid_opportunities = set(Opportunity.objects.filter(tenant=tenant, pk__in=list(opportunity_roles)).values_list("pk", flat=True))
    wanted_contacts = {r.contact_id for roles in opportunity_roles.values() for r in roles}
    valid_contacts = set(Contact.objects.filter(tenant=tenant, pk__in=wanted_contacts).values_list("pk", flat=True))
    create, update, delete, seen = [], [], [], set()
    for opportunity_id, roles in opportunity_roles.items():
        if opportunity_id not in valid_opportunities:
            continue
        # One row per contact: several roles of one contact keep the primary one, else the first.
        by_contact: dict[int, ContactRole] = {}
        for role in roles:
            if role.contact_id in valid_contacts and (role.contact_id not in by_contact or role.is_primary):
                by_contact[role.contact_id] = role
        for contact_id, role in by_contact.items():
            seen.add((opportunity_id, contact_id))
            row = existing.get((opportunity_id, contact_id))
            values = {"role": role.role[:80], "is_primary": role.is_primary, "salesforce_role_id": role.salesforce_role_id[:18],
                      "salesforce_connection_id": connection_id}
            if row is None:
                create.append(OpportunityContact(tenant=tenant, opportunity_id=opportunity_id, contact_id=contact_id, **values))
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
                update.append(row)
    for key, row in existing.items():
        if key not in seen and row.salesforce_connection_id == connection_id and row.opportunity_id in valid_opportunities:
            delete.append(row.pk)
    OpportunityContact.objects.bulk_create(create)
    if update:
        OpportunityContact.objects.bulk_update(update, ["role", "is_primary", "salesforce_role_id", "salesforce_connection_id"])
    if delete:
        OpportunityContact.objects.filter(pk__in=delete).delete()
    return len(create) + len(update) + len(delete)


# --- opportunities -------------------------------------------------------------------------

DUPLICATE_REFERENCE_MESSAGE = "Another opportunity in this organization already uses this reference."


def _validate_opportunity(opportunity: Opportunity) -> None:
    """Every rule of an opportunity, with errors keyed by field (a duplicate reference is
    reported on `reference`, not as a form-wide error)."""
    errors = _field_errors(opportunity, exclude=_loaded_relations(opportunity))
    reference = (opportunity.reference or "").strip()
    if reference and Opportunity.objects.filter(tenant_id=opportunity.tenant_id, reference=reference).exclude(pk=opportunity.pk).exists():
        errors.setdefault("reference", []).append(DUPLICATE_REFERENCE_MESSAGE)
    if errors:
        raise ValidationError(errors)


# Foreign keys full_clean checks with a query each; the batch holds their instances already.
_RELATIONS = ["tenant", "department", "assignee", "created_by"]


def _loaded_relations(opportunity: Opportunity) -> list[str]:
    """The foreign keys given as instances read from the database (the tenant, a department the
    API or form looked up among the tenant's rows, the requesting user): full_clean would check
    that each still exists with a query of its own — four on every save of the API. A row
    deleted in between is still refused by the database's foreign key at save time."""
    return [name for name in _RELATIONS
            if Opportunity._meta.get_field(name).is_cached(opportunity)
            and (related := getattr(opportunity, name)) is not None and not related._state.adding
            and related.pk == getattr(opportunity, f"{name}_id")]


def _field_errors(opportunity: Opportunity, *, exclude: list[str] | None = None) -> dict[str, list[str]]:
    """The rules of one opportunity that need no other row (all but the unique reference)."""
    errors: dict[str, list[str]] = {}
    if not (opportunity.title or "").strip():
        errors["title"] = ["Title is required."]
    if opportunity.value_min is not None and opportunity.value_max is not None and opportunity.value_min > opportunity.value_max:
        errors["value_max"] = ["Maximum value must be greater than or equal to the minimum value."]
    for name in ("value_min", "value_max"):
        value = getattr(opportunity, name)
        if value is not None and value < 0:
            errors[name] = ["Value cannot be negative."]
    try:
        # Uniqueness is checked by the caller with a field-keyed message.
        opportunity.full_clean(exclude=exclude, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(m for m in messages if m not in errors.get(field, []))
    return errors


def _save_opportunity(opportunity: Opportunity) -> None:
    """Save; a duplicate reference written by a concurrent request between our check and this
    save surfaces as the same field error, not a server error. No savepoint of its own (two
    round trips a save): both callers are atomic and let the error leave their block, which
    rolls the failed statement back with everything else they wrote."""
    try:
        opportunity.save()
    except IntegrityError as exc:
        if "reference" in str(exc) or "opportunity_unique_reference" in str(exc):
            raise ValidationError({"reference": [DUPLICATE_REFERENCE_MESSAGE]}) from exc
        raise


def _assert_tenant(instance, tenant: Tenant) -> None:
    # Services are the last line of defence against cross-tenant writes.
    if instance.tenant_id != tenant.pk:
        raise PermissionError(f"{type(instance).__name__} {instance.pk} does not belong to tenant {tenant.pk}")


def _stamp(opportunity: Opportunity | Department, changed: Sequence[str], when: datetime.datetime | None = None,
           by: AbstractBaseUser | None = None) -> None:
    """Note when these fields changed (now, or the time the change was made elsewhere) and who
    changed them (the signed-in user; None for a change pulled from Salesforce or made by no one)."""
    if not changed:
        return
    moment = (when or timezone.now()).astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds")
    author = by.pk if by is not None and getattr(by, "is_authenticated", False) and by.pk else None
    opportunity.field_changed_at = {**(opportunity.field_changed_at or {}), **{name: moment for name in changed}}
    opportunity.field_changed_by = {**(opportunity.field_changed_by or {}), **{name: author for name in changed}}


def _apply(instance, data: Mapping[str, Any], allowed: tuple[str, ...]) -> list[str]:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    changed = []
    for name, value in data.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed


@transaction.atomic
def opportunity_create(*, tenant: Tenant, created_by: AbstractBaseUser | None = None, origin: str = Origin.COTHON,
                       origin_connection_id: int | None = None, **data: Any) -> Opportunity:
    """Create an opportunity and queue it for Salesforce (real-time priority). One imported
    from Salesforce (`origin=Origin.SALESFORCE`) is never sent back to its own org."""
    opportunity = Opportunity(tenant=tenant, created_by=created_by)
    _apply(opportunity, data, OPPORTUNITY_FIELDS)
    if opportunity.department_id is not None:
        _assert_tenant(opportunity.department, tenant)
    _stamp(opportunity, [f for f in OPPORTUNITY_FIELDS if data.get(f) not in (None, "")], by=created_by)
    _validate_opportunity(opportunity)
    _save_opportunity(opportunity)
    record_change(tenant=tenant, record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk, event=Event.CREATED,
                  changed_fields=[f for f in OPPORTUNITY_FIELDS if data.get(f) not in (None, "")],
                  origin=origin, origin_connection_id=origin_connection_id)
    return opportunity


@transaction.atomic
def opportunity_update(*, tenant: Tenant, opportunity: Opportunity, data: Mapping[str, Any], origin: str = Origin.COTHON,
                       origin_connection_id: int | None = None, changed_at: datetime.datetime | None = None,
                       changed_by: AbstractBaseUser | None = None) -> Opportunity:
    """Change fields of an opportunity; only real changes reach the outbox. A change pulled
    from Salesforce (`origin=Origin.SALESFORCE`) is never pushed back to its own org.
    `changed_at`: when the change was made, if not now (Salesforce's modification time).
    `changed_by`: the user making it (kept per field: a conflict names Cothon's author)."""
    _assert_tenant(opportunity, tenant)
    changed = _apply(opportunity, data, OPPORTUNITY_FIELDS)
    if not changed:
        return opportunity
    _stamp(opportunity, changed, changed_at, by=changed_by)
    if "department" in changed and opportunity.department_id is not None:
        _assert_tenant(opportunity.department, tenant)
    _validate_opportunity(opportunity)
    _save_opportunity(opportunity)
    # A status or owner change is an update like any other: its changed fields say what the
    # push does about it (the "Status changed" Task follows `status`). Submitting is logged in
    # Salesforce as a completed "Proposal submitted" Task.
    event = Event.UPDATED
    if "status" in changed and opportunity.status == OpportunityStatus.SUBMITTED:
        event = Event.SUBMITTED
    record_change(tenant=tenant, record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk, event=event,
                  changed_fields=changed, origin=origin, origin_connection_id=origin_connection_id)
    return opportunity


@dataclass
class BatchUpdateResult:
    """What `opportunities_apply_from_salesforce` did: the opportunities as saved (unchanged
    ones as given), and the refused ones with their field-keyed errors (nothing of them saved)."""

    saved: dict[int, Opportunity] = field(default_factory=dict)
    errors: dict[int, ValidationError] = field(default_factory=dict)


@transaction.atomic
def opportunities_apply_from_salesforce(*, tenant: Tenant, updates: Sequence[tuple[Opportunity, Mapping[str, Any]]],
                                        origin: str = Origin.SALESFORCE,
                                        origin_connection_id: int | None = None,
                                        changed_at: Mapping[int, datetime.datetime] | None = None) -> BatchUpdateResult:
    """`opportunity_update` for a page of pulled records: the same rules and the same change
    records, in a fixed number of queries whatever the number of opportunities (one for the
    references, one UPDATE a thousand rows, one INSERT of change records). A refused opportunity is
    left as it was and reported, the others saved. The given instances are not modified (the
    saved ones are copies), so the caller can retry a refused one without a field.

    The caller holds the rows (select_for_update) and gives departments and assignees as
    instances it read for the tenant: their existence is not checked row by row. `changed_at`:
    opportunity id → when Salesforce changed it (its fields' change times; now when absent)."""
    result = BatchUpdateResult()
    changed_at = changed_at or {}
    candidates: list[tuple[Opportunity, list[str]]] = []
    for opportunity, data in updates:
        _assert_tenant(opportunity, tenant)
        candidate = copy.copy(opportunity)
        try:
            changed = _apply(candidate, data, OPPORTUNITY_FIELDS)
        except ValidationError as exc:
            result.errors[opportunity.pk] = exc
            continue
        if not changed:
            result.saved[opportunity.pk] = opportunity
            continue
        for name in ("department", "assignee"):
            related = getattr(candidate, name) if name in changed else None
            if related is not None and related.pk is None:
                raise ValueError(f"{name} must be a saved instance")
        if "department" in changed and candidate.department_id is not None:
            _assert_tenant(candidate.department, tenant)
        errors = _field_errors(candidate, exclude=_RELATIONS)
        if errors:
            result.errors[opportunity.pk] = ValidationError(errors)
            continue
        candidates.append((candidate, changed))
    candidates = _unique_references(tenant, candidates, result)
    if not candidates:
        return result
    now = timezone.now()
    names: set[str] = {"updated_at", "field_changed_at", "field_changed_by"}
    changes: list[Change] = []
    for candidate, changed in candidates:
        candidate.updated_at = now
        _stamp(candidate, changed, changed_at.get(candidate.pk))
        names.update(changed)
        event = Event.SUBMITTED if "status" in changed and candidate.status == OpportunityStatus.SUBMITTED else Event.UPDATED
        changes.append(Change(RecordType.OPPORTUNITY, candidate.pk, event, changed))
        result.saved[candidate.pk] = candidate
    # Every row gets every changed column (its own value where it did not change): one statement a thousand rows.
    update_rows(Opportunity, [c for c, _ in candidates], sorted(names))
    record_changes(tenant=tenant, changes=changes, origin=origin, origin_connection_id=origin_connection_id)
    return result


def _unique_references(tenant: Tenant, candidates: list[tuple[Opportunity, list[str]]],
                       result: BatchUpdateResult) -> list[tuple[Opportunity, list[str]]]:
    """Refuse, in one query, a new reference another opportunity holds (or an earlier one of
    the batch takes). The database constraint still guards against a concurrent writer."""
    moving = {c.pk: (c.reference or "").strip() for c, changed in candidates if "reference" in changed}
    wanted = {ref for ref in moving.values() if ref}
    if not wanted:
        return candidates
    holders = {ref: pk for pk, ref in Opportunity.objects.filter(tenant=tenant, reference__in=wanted)
               .values_list("pk", "reference") if pk not in moving}
    kept = []
    for candidate, changed in candidates:
        ref = moving.get(candidate.pk)
        if ref and holders.get(ref, candidate.pk) != candidate.pk:
            result.errors[candidate.pk] = ValidationError({"reference": [DUPLICATE_REFERENCE_MESSAGE]})
            continue
        if ref:
            holders[ref] = candidate.pk
        kept.append((candidate, changed))
    return kept


@transaction.atomic
def opportunity_delete(*, tenant: Tenant, opportunity: Opportunity) -> None:
    """Delete in Cothon. The Salesforce record is kept (the seed: data stays on both sides)."""
    _assert_tenant(opportunity, tenant)
    opportunity.delete()


# --- analyses, requirements, comments ------------------------------------------------------

@transaction.atomic
def analysis_create(*, tenant: Tenant, opportunity: Opportunity, created_by: AbstractBaseUser | None = None,
                    **data: Any) -> BidAnalysis:
    _assert_tenant(opportunity, tenant)
    analysis = BidAnalysis(tenant=tenant, opportunity=opportunity, created_by=created_by, **data)
    _validate(analysis)
    analysis.save()
    if opportunity.analysis_status == AnalysisStatus.NOT_STARTED:
        opportunity_update(tenant=tenant, opportunity=opportunity, data={"analysis_status": AnalysisStatus.IN_PROGRESS},
                           changed_by=created_by)
    return analysis


@transaction.atomic
def analysis_update(*, tenant: Tenant, analysis: BidAnalysis, data: Mapping[str, Any]) -> BidAnalysis:
    _assert_tenant(analysis, tenant)
    changed = _apply(analysis, data, ("compliance_score", "summary", "key_findings", "risks", "recommendation"))
    if changed:
        _validate(analysis)
        analysis.save()
        if analysis.status == BidAnalysisStatus.COMPLETED:
            record_change(tenant=tenant, record_type=RecordType.ANALYSIS, record_id=analysis.pk, event=Event.UPDATED,
                          changed_fields=changed)
    return analysis


@transaction.atomic
def requirement_add(*, tenant: Tenant, analysis: BidAnalysis, text: str, kind: str, **data: Any) -> Requirement:
    _assert_tenant(analysis, tenant)
    requirement = Requirement(tenant=tenant, analysis=analysis, text=text, kind=kind, **data)
    _validate(requirement)
    requirement.save()
    if analysis.status == BidAnalysisStatus.COMPLETED:
        record_change(tenant=tenant, record_type=RecordType.REQUIREMENT, record_id=requirement.pk, event=Event.CREATED,
                      changed_fields=["text", "kind", "capability_match", "code", "weight", "notes"])
    return requirement


@transaction.atomic
def analysis_complete(*, tenant: Tenant, analysis: BidAnalysis, compliance_score: int | None = None,
                      recommendation: str | None = None, completed_by: AbstractBaseUser | None = None) -> BidAnalysis:
    """Mark an analysis completed and roll its results up to the opportunity.

    Triggers the seed's "analysis completed" sync: the analysis and its requirements, the
    opportunity's analysis fields, and the "Bid Analysis Completed" task.
    """
    _assert_tenant(analysis, tenant)
    if analysis.status == BidAnalysisStatus.COMPLETED:
        raise ValidationError({"status": ["This analysis is already completed."]})
    if compliance_score is not None:
        analysis.compliance_score = compliance_score
    if recommendation is not None:
        analysis.recommendation = recommendation
    analysis.status = BidAnalysisStatus.COMPLETED
    analysis.completed_at = timezone.now()
    _validate(analysis)
    analysis.save()
    record_change(tenant=tenant, record_type=RecordType.ANALYSIS, record_id=analysis.pk, event=Event.COMPLETED,
                  changed_fields=["status", "compliance_score", "summary", "key_findings", "risks", "recommendation"])
    for requirement_id in analysis.requirements.values_list("pk", flat=True):
        record_change(tenant=tenant, record_type=RecordType.REQUIREMENT, record_id=requirement_id, event=Event.CREATED,
                      changed_fields=["text", "kind", "capability_match"])
    opportunity_update(
        tenant=tenant,
        opportunity=analysis.opportunity,
        data={
            "compliance_score": analysis.compliance_score,
            "analysis_status": AnalysisStatus.COMPLETE,
            "last_analyzed_at": analysis.completed_at,
        },
        changed_by=completed_by,
    )
    return analysis


@transaction.atomic
def comment_create(*, tenant: Tenant, opportunity: Opportunity, author: AbstractBaseUser | None, body: str) -> Comment:
    _assert_tenant(opportunity, tenant)
    comment = Comment(tenant=tenant, opportunity=opportunity, author=author, body=body)
    if not body.strip():
        raise ValidationError({"body": ["Comment cannot be empty."]})
    _validate(comment)
    comment.save()
    record_change(tenant=tenant, record_type=RecordType.COMMENT, record_id=comment.pk, event=Event.CREATED,
                  changed_fields=["body"])
    return comment


# --- validation without saving (inline form validation) ------------------------------------

def opportunity_validate(*, tenant: Tenant, data: Mapping[str, Any], opportunity: Opportunity | None = None) -> None:
    """Check `data` as opportunity_create / opportunity_update would, without saving anything.
    Raises ValidationError keyed by field."""
    import copy

    if opportunity is not None:
        _assert_tenant(opportunity, tenant)
        candidate = copy.copy(opportunity)
    else:
        candidate = Opportunity(tenant=tenant)
    _apply(candidate, data, OPPORTUNITY_FIELDS)
    if candidate.department_id is not None:
        _assert_tenant(candidate.department, tenant)
    _validate_opportunity(candidate)


# --- department name check (appended for the REST API) --------------------------------------

DUPLICATE_DEPARTMENT_MESSAGE = "Another department in this organization already has this name."


def department_validate_name(*, tenant: Tenant, name: str, department: Department | None = None) -> None:
    """Raise a ValidationError on `name` when another department of the tenant has it.

    full_clean reports the (tenant, name) constraint as a form-wide "__all__" error; API
    clients need it on the field.
    """
    qs = Department.objects.filter(tenant=tenant, name=(name or "").strip())
    if department is not None:
        _assert_tenant(department, tenant)
        qs = qs.exclude(pk=department.pk)
    if qs.exists():
        raise ValidationError({"name": [DUPLICATE_DEPARTMENT_MESSAGE]})
