"""Writes for contacts — the seed's "people" a quote is addressed to. Creating one is
opportunities.services.contact_create (the pull uses it too); changing and deleting live here,
next to the quotes that use them. Contacts are recorded in the sync outbox like every record,
though not pushed (sync_engine/handlers/contact.py says why)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from cothon.models import Tenant
from opportunities.models import Contact
from opportunities.services import contact_create  # noqa: F401  (one place to create people)
from sync_engine.outbox import record_change
from sync_engine.vocabulary import Event, RecordType

CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "job_title", "department")


def _assert_tenant(instance, tenant: Tenant) -> None:
    if instance.tenant_id != tenant.pk:
        raise PermissionError(f"{type(instance).__name__} {instance.pk} does not belong to tenant {tenant.pk}")


@transaction.atomic
def contact_update(*, tenant: Tenant, contact: Contact, data: Mapping[str, Any]) -> Contact:
    _assert_tenant(contact, tenant)
    unknown = set(data) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    department = data.get("department")
    if department is not None:
        _assert_tenant(department, tenant)
    changed = [name for name, value in data.items() if getattr(contact, name) != value]
    for name, value in data.items():
        setattr(contact, name, value.strip() if isinstance(value, str) else value)
    contact.full_clean()
    contact.save()
    if changed:
        record_change(tenant=tenant, record_type=RecordType.CONTACT, record_id=contact.pk, event=Event.UPDATED,
                      changed_fields=changed)
    return contact


@transaction.atomic
def contact_delete(*, tenant: Tenant, contact: Contact) -> None:
    """Delete a person: quotes addressed to them keep their other fields (person becomes empty,
    the free-text contact name is filled in so the quote still says who it was for); their
    opportunity contact roles go with them."""
    _assert_tenant(contact, tenant)
    contact.quotes.filter(contact_name="").update(contact_name=str(contact)[:255])
    contact.delete()
