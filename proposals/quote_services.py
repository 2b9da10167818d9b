"""Writes for quotes and their line items. Every write that touches lines recomputes the stored
totals (proposals/quote_totals.py) in the same transaction, with the quote row locked, and checks
every bound before writing: a refused change leaves the quote and its lines as they were."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from cothon.models import Tenant
from opportunities.numbers import QUOTE_LINES_MAX
from opportunities.services import contact_create
from proposals.models import Quote, QuoteLineItem
from proposals.quote_custom_fields import merged_custom_values, quote_custom_values_clean
from proposals.quote_totals import check_line_amount, check_totals, totals_of

DUPLICATE_QUOTE_NUMBER_MESSAGE = "Another quote in this organization already has this number."
QUOTE_FIELDS = ("number", "title", "status", "currency", "opportunity", "company", "person", "company_name",
                "contact_name", "valid_until", "terms", "notes", "owner", "custom_values")
LINE_FIELDS = ("kind", "description", "unit", "quantity", "unit_price", "discount_percent", "tax_percent")
RELATED = ("opportunity", "company", "person")


def _assert_tenant(instance, tenant: Tenant) -> None:
    if instance.tenant_id != tenant.pk:
        raise PermissionError(f"{type(instance).__name__} {instance.pk} does not belong to tenant {tenant.pk}")


def _next_quote_number(tenant: Tenant) -> str:
    count = Quote.objects.filter(tenant=tenant).count() + 1
    number = f"Q-{count:05d}"
    while Quote.objects.filter(tenant=tenant, number=number).exists():
        count += 1
        number = f"Q-{count:05d}"
    return number


def _clean_custom(tenant: Tenant, values: Mapping[str, Any]) -> dict[str, Any]:
    # One key on the quote's errors: "custom_values", each message naming its field key.
    try:
        return quote_custom_values_clean(tenant=tenant, values=values)
    except ValidationError as exc:
        raise ValidationError({"custom_values": [
            message if key == "custom_values" else f"{key}: {message}"
            for key, messages in exc.message_dict.items() for message in messages]}) from exc


def _apply_quote_fields(*, tenant: Tenant, quote: Quote, data: Mapping[str, Any]) -> None:
    unknown = set(data) - set(QUOTE_FIELDS)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    for name in RELATED:
        related = data.get(name)
        if related is not None and related.tenant_id != tenant.pk:
            # The API and forms offer only the tenant's records; anything else is a caller bug.
            raise PermissionError(f"{name} {related.pk} does not belong to tenant {tenant.pk}")
    for name, value in data.items():
        if name == "custom_values":
            quote.custom_values = merged_custom_values(quote.custom_values, _clean_custom(tenant, value or {}))
        elif name == "number":
            quote.number = (value or "").strip() or quote.number
        elif isinstance(value, str) and name not in ("terms", "notes"):
            setattr(quote, name, value.strip())
        else:
            setattr(quote, name, value)
    if data.get("currency"):
        quote.currency = quote.currency.upper()
    if Quote.objects.filter(tenant=tenant, number=quote.number).exclude(pk=quote.pk).exists():
        raise ValidationError({"number": [DUPLICATE_QUOTE_NUMBER_MESSAGE]})
    person = quote.person
    if person is not None and quote.company is not None and person.department_id not in (None, quote.company.pk):
        raise ValidationError({"person": [f"{person} works for another company (department) than this quote's."]})
    quote.full_clean(exclude=["pdf"])


@transaction.atomic
def quote_create(*, tenant: Tenant, title: str, line_items: Iterable[Mapping[str, Any]] = (), **data: Any) -> Quote:
    """Create a quote (and its lines, all or nothing). A bad line is reported on `line_items`
    as "Line N, field: message"."""
    quote = Quote(tenant=tenant, number=_next_quote_number(tenant))
    _apply_quote_fields(tenant=tenant, quote=quote, data={"title": title, **data})
    quote.save()
    lines = list(line_items)
    if len(lines) > QUOTE_LINES_MAX:
        raise ValidationError({"line_items": [f"A quote can have at most {QUOTE_LINES_MAX} lines."]})
    for index, line in enumerate(lines, start=1):
        try:
            quote_line_add(tenant=tenant, quote=quote, **line)
        except ValidationError as exc:
            messages = [f"Line {index}, {field}: {message}" for field, msgs in exc.message_dict.items() for message in msgs]
            raise ValidationError({"line_items": messages}) from exc
    return quote


# The API's earlier name; the demo and tests use both.
quote_create_with_lines = quote_create


@transaction.atomic
def quote_update(*, tenant: Tenant, quote: Quote, data: Mapping[str, Any]) -> Quote:
    """Change a quote's own fields (not its lines). `custom_values` are merged: a key given
    with None or "" removes that value, keys not given stay."""
    _assert_tenant(quote, tenant)
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    _apply_quote_fields(tenant=tenant, quote=quote, data=data)
    quote.save()
    return quote


@transaction.atomic
def quote_delete(*, tenant: Tenant, quote: Quote) -> None:
    """Delete a quote and its lines. A Salesforce opportunity it came from is left alone, and
    its link (sync_engine's SyncLink) is kept on purpose: one quote per opportunity, ever, so
    the opportunity's next stage change does not make the deleted quote again."""
    _assert_tenant(quote, tenant)
    quote.delete()


# --- line items ----------------------------------------------------------------------------

def _locked(quote: Quote) -> tuple[Quote, list[QuoteLineItem]]:
    locked = Quote.objects.select_for_update().get(pk=quote.pk)
    return locked, list(QuoteLineItem.objects.filter(quote=locked).order_by("position", "id"))


def _validated_line(line: QuoteLineItem) -> None:
    for name in ("description", "unit"):
        setattr(line, name, (getattr(line, name) or "").strip())
    line.full_clean(exclude=["quote", "tenant"])
    check_line_amount(line)


def _save_totals(quote: Quote, lines: list[QuoteLineItem], *, verb: str) -> None:
    totals = totals_of(lines)
    check_totals(totals, verb=verb)
    for name, value in totals.as_fields().items():
        setattr(quote, name, value)
    quote.save(update_fields=[*totals.as_fields(), "updated_at"])


@transaction.atomic
def quote_line_add(*, tenant: Tenant, quote: Quote, description: str, quantity: Decimal = Decimal("1"),
                   unit_price: Decimal = Decimal("0"), **fields: Any) -> QuoteLineItem:
    """Append a line and recompute the quote's totals."""
    _assert_tenant(quote, tenant)
    unknown = set(fields) - set(LINE_FIELDS)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    locked, lines = _locked(quote)
    if len(lines) >= QUOTE_LINES_MAX:
        raise ValidationError({"line_items": [f"A quote can have at most {QUOTE_LINES_MAX} lines."]})
    item = QuoteLineItem(tenant=tenant, quote=locked, description=description, quantity=quantity,
                         unit_price=unit_price, position=(lines[-1].position + 1) if lines else 0, **fields)
    _validated_line(item)
    _save_totals(locked, [*lines, item], verb="With this line")
    item.save()
    _copy_totals(locked, quote)
    return item


def _copy_totals(source: Quote, target: Quote) -> None:
    # The caller's instance shows the new totals too.
    for name in ("subtotal", "discount_total", "tax_total", "total", "updated_at"):
        setattr(target, name, getattr(source, name))


@transaction.atomic
def quote_line_update(*, tenant: Tenant, line: QuoteLineItem, data: Mapping[str, Any]) -> QuoteLineItem:
    _assert_tenant(line, tenant)
    unknown = set(data) - set(LINE_FIELDS)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    locked, lines = _locked(line.quote)
    current = next((existing for existing in lines if existing.pk == line.pk), None)
    if current is None:
        raise QuoteLineItem.DoesNotExist(f"line {line.pk} is gone")
    for name, value in data.items():
        setattr(current, name, value)
    _validated_line(current)
    _save_totals(locked, lines, verb="With this change")
    current.save()
    return current


@transaction.atomic
def quote_line_remove(*, tenant: Tenant, line: QuoteLineItem) -> Quote:
    _assert_tenant(line, tenant)
    locked, lines = _locked(line.quote)
    remaining = [existing for existing in lines if existing.pk != line.pk]
    QuoteLineItem.objects.filter(pk=line.pk, quote=locked).delete()
    _save_totals(locked, remaining, verb="Without this line")
    return locked


@transaction.atomic
def quote_lines_reorder(*, tenant: Tenant, quote: Quote, line_ids: Iterable[int]) -> list[QuoteLineItem]:
    """Put the quote's lines in the given order: `line_ids` must name each line once."""
    _assert_tenant(quote, tenant)
    locked, lines = _locked(quote)
    wanted = list(line_ids)
    if sorted(wanted) != sorted(line.pk for line in lines) or len(set(wanted)) != len(wanted):
        raise ValidationError({"order": ["Give every line id of this quote exactly once."]})
    by_id = {line.pk: line for line in lines}
    ordered = [by_id[pk] for pk in wanted]
    for position, line in enumerate(ordered):
        line.position = position
    QuoteLineItem.objects.bulk_update(ordered, ["position"])
    return ordered


@transaction.atomic
def quote_person_create(*, tenant: Tenant, quote: Quote, last_name: str, **fields: Any) -> Quote:
    """Add a new person at the quote's company (none when the quote has none) and address the
    quote to them, both or neither: the quote editor's "New person". `fields`: first_name,
    email, phone, job_title. Errors are keyed by the person's fields."""
    _assert_tenant(quote, tenant)
    unknown = set(fields) - {"first_name", "email", "phone", "job_title"}
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    person = contact_create(tenant=tenant, last_name=last_name, department=quote.company, **fields)
    return quote_update(tenant=tenant, quote=quote, data={"person": person})
