"""Writes for the bid team's records. Each service validates, saves, and records the change in
the sync outbox in the same transaction (`sync_engine.outbox.record_change`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from cothon.models import Tenant
from opportunities.models import (
    AnalysisStatus,
    BidAnalysis,
    BidAnalysisStatus,
    Comment,
    Contact,
    Department,
    Opportunity,
    OpportunityStatus,
    Requirement,
)
from sync_engine.vocabulary import Event, RecordType
from sync_engine.outbox import record_change

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
def department_create(*, tenant: Tenant, name: str, acronym: str = "", website: str = "") -> Department:
    department = Department(tenant=tenant, name=name.strip(), acronym=acronym, website=website)
    department.key = _unique_department_key(tenant, department.name)
    _validate(department)
    department.save()
    record_change(tenant=tenant, record_type=RecordType.DEPARTMENT, record_id=department.pk, event=Event.CREATED,
                  changed_fields=["name", "acronym", "website"])
    return department


@transaction.atomic
def department_update(*, tenant: Tenant, department: Department, data: Mapping[str, Any]) -> Department:
    _assert_tenant(department, tenant)
    changed = _apply(department, data, ("name", "acronym", "website"))
    if changed:
        _validate(department)
        department.save()
        record_change(tenant=tenant, record_type=RecordType.DEPARTMENT, record_id=department.pk, event=Event.UPDATED,
                      changed_fields=changed)
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
def contact_create(*, tenant: Tenant, last_name: str, department: Department | None = None, **fields: Any) -> Contact:
    if department is not None:
        _assert_tenant(department, tenant)
    contact = Contact(tenant=tenant, last_name=last_name, department=department, **fields)
    _validate(contact)
    contact.save()
    record_change(tenant=tenant, record_type=RecordType.CONTACT, record_id=contact.pk, event=Event.CREATED,
                  changed_fields=["first_name", "last_name", "email", "phone", "job_title", "department"])
    return contact


# --- opportunities -------------------------------------------------------------------------

DUPLICATE_REFERENCE_MESSAGE = "Another opportunity in this organization already uses this reference."


def _validate_opportunity(opportunity: Opportunity) -> None:
    """Every rule of an opportunity, with errors keyed by field (a duplicate reference is
    reported on `reference`, not as a form-wide error)."""
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
        # Uniqueness is checked below with a field-keyed message.
        opportunity.full_clean(validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(m for m in messages if m not in errors.get(field, []))
    reference = (opportunity.reference or "").strip()
    if reference and Opportunity.objects.filter(tenant_id=opportunity.tenant_id, reference=reference).exclude(pk=opportunity.pk).exists():
        errors.setdefault("reference", []).append(DUPLICATE_REFERENCE_MESSAGE)
    if errors:
        raise ValidationError(errors)


def _save_opportunity(opportunity: Opportunity) -> None:
    """Save; a duplicate reference written by a concurrent request between our check and this
    save surfaces as the same field error, not a server error."""
    try:
        with transaction.atomic():
            opportunity.save()
    except IntegrityError as exc:
        if "reference" in str(exc) or "opportunity_unique_reference" in str(exc):
            raise ValidationError({"reference": [DUPLICATE_REFERENCE_MESSAGE]}) from exc
        raise


def _assert_tenant(instance, tenant: Tenant) -> None:
    # Services are the last line of defence against cross-tenant writes.
    if instance.tenant_id != tenant.pk:
        raise PermissionError(f"{type(instance).__name__} {instance.pk} does not belong to tenant {tenant.pk}")


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
def opportunity_create(*, tenant: Tenant, created_by: AbstractBaseUser | None = None, **data: Any) -> Opportunity:
    """Create an opportunity and queue it for Salesforce (real-time priority)."""
    opportunity = Opportunity(tenant=tenant, created_by=created_by)
    _apply(opportunity, data, OPPORTUNITY_FIELDS)
    if opportunity.department_id is not None:
        _assert_tenant(opportunity.department, tenant)
    _validate_opportunity(opportunity)
    _save_opportunity(opportunity)
    record_change(tenant=tenant, record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk, event=Event.CREATED,
                  changed_fields=[f for f in OPPORTUNITY_FIELDS if data.get(f) not in (None, "")])
    return opportunity


@transaction.atomic
def opportunity_update(*, tenant: Tenant, opportunity: Opportunity, data: Mapping[str, Any]) -> Opportunity:
    """Change fields of an opportunity; only real changes reach the outbox."""
    _assert_tenant(opportunity, tenant)
    previous_status = opportunity.status
    changed = _apply(opportunity, data, OPPORTUNITY_FIELDS)
    if not changed:
        return opportunity
    if "department" in changed and opportunity.department_id is not None:
        _assert_tenant(opportunity.department, tenant)
    _validate_opportunity(opportunity)
    _save_opportunity(opportunity)
    # The changed fields say what changed (a status, an assignee: the push logs the Task or adds
    # the team member from them); a move to Submitted is its own event, logged in Salesforce as a
    # completed "Proposal submitted" Task.
    submitted = "status" in changed and previous_status != opportunity.status and opportunity.status == OpportunityStatus.SUBMITTED
    event = Event.SUBMITTED if submitted else Event.UPDATED
    record_change(tenant=tenant, record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk, event=event,
                  changed_fields=changed)
    return opportunity


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
        opportunity_update(tenant=tenant, opportunity=opportunity, data={"analysis_status": AnalysisStatus.IN_PROGRESS})
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
                      recommendation: str | None = None) -> BidAnalysis:
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
