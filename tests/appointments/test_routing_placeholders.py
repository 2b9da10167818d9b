"""File-name templates: every documented placeholder filled, unknown ones refused by name,
names safe as file names (a date's slashes stay in the Salesforce title only)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from opportunities.models import Appointment
from sync_engine.appointments import placeholders


def _values(**overrides):
    appointment = Appointment(customer_name="Larry Q. Leap", email="larry@example.com", phone="613-555-0101",
                              address="12 Elm Street", starts_at=datetime.datetime(2019, 5, 23, 19, 30, tzinfo=datetime.UTC))
    with timezone.override("America/Toronto"):
        return placeholders.placeholder_values(appointment=appointment, kind_label="Contract", salesforce_id="a0P000000000001AAA",
                                               context=overrides, now=datetime.datetime(2019, 5, 24, 2, 0, tzinfo=datetime.UTC))


def test_every_documented_placeholder_has_a_value():
    values = _values()
    assert set(values) == set(placeholders.PLACEHOLDERS)
    assert values["firstName"] == "Larry Q." and values["lastName"] == "Leap"
    # 02:00 UTC on the 24th is still the 23rd in Toronto.
    assert values["date"] == "5/23/19" and values["isoDate"] == "2019-05-23"
    assert values["appointmentDate"] == "5/23/19" and values["appointmentTime"] == "3:30 PM"
    assert values["recordId"] == "a0P000000000001AAA" and values["documentTitle"] == "Contract"
    assert _values(document_title="Warranty")["documentTitle"] == "Warranty"


def test_the_seeds_example_renders_like_the_seed():
    name = placeholders.file_name_render("%customerName% Contract %date%.pdf", _values())
    assert name.title == "Larry Q. Leap Contract 5/23/19"
    assert name.path == "Larry Q. Leap Contract 5-23-19.pdf"


@pytest.mark.parametrize(("template", "title", "path"), [
    ("%lastName%", "Leap", "Leap.pdf"),
    ("", "Larry Q. Leap Contract", "Larry Q. Leap Contract.pdf"),
    ("%repName% %customerName%", "Larry Q. Leap", "Larry Q. Leap.pdf"),  # an empty value leaves no double space
    ("../../etc/passwd", "../../etc/passwd", "-..-etc-passwd.pdf"),
    ("%repName%.pdf", "Larry Q. Leap Contract", "Larry Q. Leap Contract.pdf"),  # nothing but an extension left
    ("Report %isoDate%.docx", "Report 2019-05-23", "Report 2019-05-23.docx"),
])
def test_names_are_safe_file_names(template, title, path):
    name = placeholders.file_name_render(template, _values())
    assert (name.title, name.path) == (title, path)


def test_unknown_placeholders_are_refused_by_name():
    with pytest.raises(ValidationError) as caught:
        placeholders.template_check("%customerName% %custmerName% %Date% %date%")
    message = caught.value.messages[0]
    assert "%custmerName%" in message and "%Date%" in message and "Unknown placeholders" in message
    placeholders.template_check("100% of %customerName% 50%")  # percent signs that name nothing are text
    with pytest.raises(ValidationError, match="200 characters"):
        placeholders.template_check("x" * 201)


def test_client_file_name_keeps_the_stored_extension():
    assert placeholders.client_file_name("Leap Contract 5/23/19", "routed/2019/05/Leap_Contract_5-23-19.pdf") == \
        "Leap Contract 5-23-19.pdf"
