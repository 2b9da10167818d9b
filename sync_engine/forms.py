"""Forms of the sync-operations pages: the sync-log filters and the Sync Now choice.

Bad filter input (a date that is not a date, an unknown status, a record id that is not a
number, another tenant's connection) becomes a message next to the field, never a 500."""

from __future__ import annotations

import datetime
import re
import zoneinfo

from django import forms
from django.utils import timezone

from sync_engine.models import RecordType, SyncDirection, SyncResult, SyncRunKind
from sync_engine.selectors import LogFilters, sync_connection_list

ERROR_CODE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")


def _positive_int(value: str, label: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise forms.ValidationError(f"{label} must be a whole number, e.g. 1234.")
    return int(value)


def _day_start(day: datetime.date | None, zone) -> datetime.datetime | None:
    """Midnight of `day` in the tenant's zone, or None (no bound) when there is no day or that
    instant cannot be a datetime in UTC (0001-01-01 east of Greenwich is still year 0 in UTC):
    such a bound is before or after every row anyway."""
    if day is None:
        return None
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min), zone)
    try:
        start.astimezone(datetime.UTC)
    except OverflowError:
        return None
    return start


class LogFilterForm(forms.Form):
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}),
                                error_messages={"invalid": "Enter a valid date (YYYY-MM-DD)."})
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}),
                              error_messages={"invalid": "Enter a valid date (YYYY-MM-DD)."})
    result = forms.ChoiceField(required=False, label="Status", choices=[("", "Any status"), *SyncResult.choices],
                               error_messages={"invalid_choice": "Unknown status “%(value)s”: choose one from the list."})
    direction = forms.ChoiceField(required=False, label="Direction", choices=[("", "Both ways"), *SyncDirection.choices],
                                  error_messages={"invalid_choice": "Unknown direction “%(value)s”: push or pull."})
    record_type = forms.ChoiceField(required=False, label="Record type", choices=[("", "Any record"), *RecordType.choices],
                                    error_messages={"invalid_choice": "Unknown record type “%(value)s”."})
    record = forms.CharField(required=False, label="Record", max_length=255,
                             widget=forms.TextInput(attrs={"placeholder": "Id or name", "type": "search"}),
                             help_text="A record id (e.g. 42) or part of its name.")
    error_code = forms.CharField(required=False, label="Error code", max_length=80,
                                 widget=forms.TextInput(attrs={"placeholder": "e.g. REQUIRED_FIELD_MISSING", "list": "sync-error-codes"}))
    connection = forms.ChoiceField(required=False, label="Connection",
                                   error_messages={"invalid_choice": "That connection is not one of your organization’s."})
    before = forms.CharField(required=False, widget=forms.HiddenInput)
    after = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, *, tenant, **kwargs):
        super().__init__(data, **kwargs)
        self.tenant = tenant
        self.connections = list(sync_connection_list(tenant=tenant).order_by("-is_default", "name"))
        self.fields["connection"].choices = [("", "All connections")] + [(str(c.pk), c.name) for c in self.connections]

    def clean_error_code(self) -> str:
        code = self.cleaned_data["error_code"].strip()
        if code and not ERROR_CODE_RE.match(code):
            raise forms.ValidationError("An error code is one word of letters, digits and underscores, e.g. UNABLE_TO_LOCK_ROW.")
        return code

    def clean_before(self) -> int | None:
        return _positive_int(self.cleaned_data["before"], "The page cursor")

    def clean_after(self) -> int | None:
        return _positive_int(self.cleaned_data["after"], "The page cursor")

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        record = (data.get("record") or "").strip()
        data["record_id"], data["label"] = None, ""
        if record.startswith("#"):
            record = record[1:]
            if not record.isdigit():
                self.add_error("record", "After “#” give a record id, e.g. #42.")
                return data
        if record.isdigit():
            if len(record) > 18:
                self.add_error("record", "That record id is too long.")
            else:
                data["record_id"] = int(record)
        else:
            data["label"] = record
        return data

    def _zone(self):
        try:
            return zoneinfo.ZoneInfo(self.tenant.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return datetime.UTC

    def filters(self) -> LogFilters:
        """The valid part of the input as selector filters (invalid fields are ignored: the page
        shows their messages and the rows without them)."""
        data = getattr(self, "cleaned_data", {}) if self.is_bound else {}
        zone = self._zone()

        end = data.get("date_to")
        connection = data.get("connection")
        return LogFilters(
            created_from=_day_start(data.get("date_from"), zone),
            # The day after the last one; none after 9999-12-31 (the calendar's last day): no bound.
            created_before=_day_start(end + datetime.timedelta(days=1), zone) if end and end < datetime.date.max else None,
            result=data.get("result") or "",
            record_type=data.get("record_type") or "",
            record_id=data.get("record_id"),
            label=data.get("label") or "",
            error_code=data.get("error_code") or "",
            connection_id=int(connection) if connection else None,
            direction=data.get("direction") or "",
        )

    def cursor(self) -> tuple[int | None, int | None]:
        data = getattr(self, "cleaned_data", {}) if self.is_bound else {}
        return data.get("before"), data.get("after")


class SyncNowForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(SyncRunKind.INCREMENTAL, "Incremental"), (SyncRunKind.FULL, "Full")],
        initial=SyncRunKind.INCREMENTAL, widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Choose full or incremental.", "required": "Choose full or incremental."},
    )
