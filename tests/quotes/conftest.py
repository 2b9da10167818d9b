"""Quote tests: alice's connection to the emulator's demo org with quote settings (trigger
stage "Proposal", owner = alice's member), and helpers to make opportunities in Salesforce."""

from __future__ import annotations

import pytest


@pytest.fixture
def quote_settings(alice, connected):
    from sync_engine.quotes.models import QuoteSettings

    return QuoteSettings.objects.create(connection=connected, opportunity_to_quote=True, contact_to_person=True,
                                        trigger_stage="Proposal", owner=alice.member)


@pytest.fixture
def sf(emulator_reset):
    """simple-salesforce on the demo org, as a sales manager with the rights to add contacts
    and contact roles."""
    return emulator_reset.sf(token=emulator_reset.token("demo", emulator_reset.demo["admin"]["username"]))


def account_id(sf, name: str = "Public Services and Procurement Canada") -> str:
    from integrations.salesforce.soql import soql_quote

    return sf.query(f"SELECT Id FROM Account WHERE Name = {soql_quote(name)}")["records"][0]["Id"]


def contact_id(sf, email: str = "morgan.buyer@example.com") -> str:
    from integrations.salesforce.soql import soql_quote

    return sf.query(f"SELECT Id FROM Contact WHERE Email = {soql_quote(email)}")["records"][0]["Id"]


def make_opportunity(sf, name: str = "Translation services, PSPC", stage: str = "Prospecting", amount: float | None = 25000,
                     account: str | None = None, contact: str | None = None, **fields) -> str:
    """An opportunity made in Salesforce (with a primary contact role when `contact`); its id."""
    data = {"Name": name, "StageName": stage, "CloseDate": "2031-05-14", "AccountId": account or account_id(sf), **fields}
    if amount is not None:
        data["Amount"] = amount
    opportunity = sf.Opportunity.create(data)["id"]
    if contact:
        sf.OpportunityContactRole.create({"OpportunityId": opportunity, "ContactId": contact, "IsPrimary": True,
                                          "Role": "Decision Maker"})
    return opportunity
