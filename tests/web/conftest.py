from __future__ import annotations

import pytest


@pytest.fixture
def htmx_headers() -> dict[str, str]:
    return {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def form_data():
    """A valid opportunity form payload; override fields with keyword arguments."""

    def make(**overrides):
        data = {
            "title": "Managed network services",
            "reference": "EN578-230001/B",
            "status": "identified",
            "department": "",
            "closing_date": "2030-06-30",
            "value_min": "100000",
            "value_max": "250000",
            "category": "",
            "procurement_method": "rfp",
            "location": "Ontario",
            "unspsc_code": "",
            "pursuit_decision": "",
            "win_probability": "",
            "assignee": "",
            "description": "",
        }
        data.update(overrides)
        return data

    return make
