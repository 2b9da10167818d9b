"""Legacy opportunities typed into the emulator's demo org, and their Cothon twins."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

TODAY = datetime.date.today()


def close_in(days: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=days)


@pytest.fixture
def legacy_sf(emulator_reset):
    """legacy_sf(name, close, amount, account_name=None) -> Id of a new Opportunity with no Cothon_Ref__c."""
    sf = emulator_reset.sf()
    accounts: dict[str, str] = {}

    def make(name: str, close: datetime.date, amount: int | None = None, account_name: str | None = None,
             stage: str = "Prospecting") -> str:
        fields = {"Name": name, "CloseDate": close.isoformat(), "StageName": stage}
        if amount is not None:
            fields["Amount"] = amount
        if account_name:
            if account_name not in accounts:
                accounts[account_name] = sf.Account.create({"Name": account_name})["id"]
            fields["AccountId"] = accounts[account_name]
        return sf.Opportunity.create(fields)["id"]

    return make


@pytest.fixture
def legacy_world(alice, connected, legacy_sf, department_factory, opportunity_factory):
    """Three Cothon opportunities not in Salesforce and the org's legacy records: the true twin of
    each, plus a decoy close to the first."""
    dfo = department_factory(alice.tenant, "Fisheries and Oceans Canada")
    parks = department_factory(alice.tenant, "Parks Canada")
    radar = opportunity_factory(alice.tenant, title="Coast guard radar maintenance for Fisheries and Oceans Canada — Atlantic",
                                department=dfo, value_min=Decimal("400000"), value_max=Decimal("600000"), closing_date=close_in(20))
    translation = opportunity_factory(alice.tenant, title="Indigenous language translation services for Parks Canada",
                                      department=parks, value_min=Decimal("120000"), value_max=Decimal("180000"),
                                      closing_date=close_in(15))
    wildfire = opportunity_factory(alice.tenant, title="Wildfire detection sensor network", value_min=Decimal("500000"),
                                   value_max=Decimal("750000"), closing_date=close_in(30))
    ids = {
        "radar": legacy_sf("Coast Guard radar maintenance (Atlantic) - DFO", close_in(21), 500000, "Fisheries and Oceans Canada"),
        "radar_decoy": legacy_sf("Coast Guard radar maintenance (Pacific) - DFO", close_in(35), 700000, "Fisheries and Oceans Canada"),
        "translation": legacy_sf("Indigenous languages translation – Parks Canada", close_in(14), 150000, "Parks Canada"),
        "wildfire": legacy_sf("NRCan - Wildfire detection sensor network", close_in(30), 640000),
        "unrelated": legacy_sf("Office furniture for the Toronto branch", close_in(200), 9000),
    }
    return {"cothon": {"radar": radar, "translation": translation, "wildfire": wildfire}, "sf": ids, "connection": connected}
