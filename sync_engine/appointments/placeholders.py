"""File-name templates of the routing rules: `%customerName% Contract %date%.pdf`.

A placeholder is a name between percent signs. The list below is the whole vocabulary (the
settings page and docs/routing.md show it); a template naming anything else is refused on save
with the unknown name, so a typo never reaches Salesforce as a literal `%custmerName%`."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

# Letters only between the percent signs: "100% of 50%" is text, not a placeholder.
PLACEHOLDER_RE = re.compile(r"%([A-Za-z][A-Za-z0-9]*)%")

PLACEHOLDERS: dict[str, str] = {
    "customerName": "The appointment's customer name (Larry Leap)",
    "firstName": "The customer's first name (Larry)",
    "lastName": "The customer's last name (Leap)",
    "customerEmail": "The customer's e-mail address",
    "customerPhone": "The customer's phone number",
    "address": "The customer's address",
    "date": "The day the file is sent, as M/D/YY (5/23/19)",
    "isoDate": "The day the file is sent, as YYYY-MM-DD (2019-05-23)",
    "appointmentDate": "The appointment's day, as M/D/YY",
    "appointmentTime": "The appointment's start time (3:00 PM)",
    "recordId": "The appointment's Salesforce record id",
    "documentType": "Contract, Proposal, Custom document, Results or Credit application",
    "documentTitle": "The document's own title (a custom document's name), else the document type",
    "repName": "The name of the rep the appointment is assigned to",
}

# A file name never carries a path: these become "-" in the name Salesforce and e-mail see as a
# path (the Title keeps the template's text as typed, e.g. a date's slashes).
_PATH_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass(frozen=True)
class FileName:
    title: str  # what Salesforce shows (ContentVersion.Title), at most 255 characters
    path: str  # a safe file name with an extension (PathOnClient, the attachment's name)


def placeholders_in(template: str) -> list[str]:
    return PLACEHOLDER_RE.findall(template or "")


def template_check(template: str) -> None:
    """Raise ValidationError naming every unknown placeholder (and a stray % sign's problem)."""
    unknown = [name for name in dict.fromkeys(placeholders_in(template)) if name not in PLACEHOLDERS]
    if unknown:
        names = ", ".join(f"%{name}%" for name in unknown)
        raise ValidationError(f"Unknown placeholder{'s' if len(unknown) > 1 else ''} {names}. "
                              f"Known: {', '.join('%' + p + '%' for p in PLACEHOLDERS)}.", code="unknown_placeholder")
    if len(template or "") > 200:
        raise ValidationError("A file name template has at most 200 characters.", code="too_long")


def _short_date(day: datetime.date) -> str:
    return f"{day.month}/{day.day}/{day.year % 100:02d}"


def _split_name(full: str) -> tuple[str, str]:
    parts = (full or "").split()
    if not parts:
        return "", ""
    if len(parts) == 1:
        return parts[0], ""
    return " ".join(parts[:-1]), parts[-1]


def placeholder_values(*, appointment, kind_label: str, salesforce_id: str, context: dict[str, Any],
                       now: datetime.datetime | None = None) -> dict[str, str]:
    """The value of every placeholder for one file; dates in the current (tenant's) time zone."""
    now = timezone.localtime(now or timezone.now())
    first, last = _split_name(appointment.customer_name)
    starts = timezone.localtime(appointment.starts_at) if appointment.starts_at else None
    rep = appointment.assigned_to
    return {
        "customerName": appointment.customer_name,
        "firstName": first,
        "lastName": last,
        "customerEmail": appointment.email,
        "customerPhone": appointment.phone,
        "address": appointment.address,
        "date": _short_date(now.date()),
        "isoDate": now.date().isoformat(),
        "appointmentDate": _short_date(starts.date()) if starts else "",
        "appointmentTime": starts.strftime("%-I:%M %p") if starts else "",
        "recordId": salesforce_id,
        "documentType": kind_label,
        "documentTitle": str(context.get("document_title") or kind_label),
        "repName": (rep.get_full_name() or rep.get_username()) if rep else "",
    }


def client_file_name(title: str, stored_name: str) -> str:
    """The file's name as Salesforce (PathOnClient) and an e-mail attachment see it: the title
    made path-safe, with the stored file's extension."""
    extension = stored_name.rpartition(".")[2] if "." in stored_name.rsplit("/", 1)[-1] else "pdf"
    stem = _PATH_UNSAFE.sub("-", title).strip(" .") or "document"
    return f"{stem}.{extension}"[-255:]


def file_name_render(template: str, values: dict[str, str], *, default_extension: str = "pdf") -> FileName:
    """Fill the template. An empty result falls back to the document type; a name without an
    extension gets `default_extension`."""
    title = PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), template or "")
    title = " ".join(title.split())  # an empty placeholder leaves no double spaces
    if not title or re.fullmatch(r"\.[A-Za-z0-9]{1,8}", title):  # nothing but an extension
        title = f"{values.get('customerName') or ''} {values.get('documentType') or 'Document'}".strip() + title
    path = _PATH_UNSAFE.sub("-", title).strip(" .") or "document"
    stem, dot, extension = path.rpartition(".")
    if not dot or not stem or " " in extension or len(extension) > 8:
        path = f"{path}.{default_extension}"
        title_has_extension = False
    else:
        title_has_extension = True
    # Salesforce shows the Title without the extension (the file type is its own column).
    if title_has_extension:
        title = title.rpartition(".")[0] or title
    return FileName(title=title[:255], path=path[-255:])
