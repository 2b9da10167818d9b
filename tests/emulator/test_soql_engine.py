"""The emulator's SOQL engine against a small in-memory org.

Run alone with: .venv/bin/pytest tests/emulator/test_soql_engine.py -q -p no:django
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from salesforce_emulator.soql import SoqlError, execute, parse
from salesforce_emulator.soql.interface import ChildRelationshipInfo, FieldInfo, ObjectInfo
from salesforce_emulator.soql.literals import date_constant_range, to_18
from salesforce_emulator.soql.nodes import Compare, FieldPath, Query, SelectField, StringLit

FIXTURES = Path(__file__).parent / "soql_fixtures"
NOW = datetime(2024, 5, 15, 10, 0, tzinfo=timezone.utc)  # a Wednesday
URL = "/services/data/v59.0/sobjects"


# --- an in-memory data source ---------------------------------------------------------------


def fld(name: str, type_: str = "string", *, to: tuple[str, ...] = (), rel: str | None = None, **kw: Any) -> FieldInfo:
    return FieldInfo(name=name, type=type_, reference_to=to, relationship_name=rel, **kw)


def obj(name: str, fields: list[FieldInfo], children: list[ChildRelationshipInfo] = ()) -> ObjectInfo:  # type: ignore[assignment]
    all_fields = [fld("Id", "id")] + fields + [fld("IsDeleted", "boolean")]
    return ObjectInfo(
        name=name,
        fields={f.name.lower(): f for f in all_fields},
        child_relationships={c.relationship_name.lower(): c for c in children},
    )


class MemorySource:
    """A SoqlDataSource over lists of dicts; records every scan so tests can see the hints."""

    def __init__(self, objects: Iterable[ObjectInfo], data: dict[str, list[dict[str, Any]]], now: datetime = NOW) -> None:
        self.objects = {o.name.lower(): o for o in objects}
        self.data = data
        self._now = now
        self.calls: list[tuple[str, dict[str, frozenset[Any]] | None]] = []

    def object_info(self, name: str) -> ObjectInfo | None:
        return self.objects.get(name.lower())

    def records(
        self, object_name: str, *, include_deleted: bool = False, equals: dict[str, frozenset[Any]] | None = None
    ) -> Iterator[dict[str, Any]]:
        self.calls.append((object_name, equals))
        for record in self.data.get(object_name, []):
            if record.get("IsDeleted") and not include_deleted:
                continue
            yield record

    def record_by_id(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        for name, records in self.data.items():
            for record in records:
                if record["Id"][:15] == record_id[:15]:
                    return name, record
        return None

    def now(self) -> datetime:
        return self._now


def sfid(prefix: str, n: int) -> str:
    return to_18(f"{prefix}{n:012d}")


PROFILE_ADMIN, PROFILE_STD = sfid("00e", 1), sfid("00e", 2)
U1, U2 = sfid("005", 1), sfid("005", 2)
G1 = sfid("00G", 1)
A1, A2, A3, A4 = (sfid("001", n) for n in range(1, 5))
C1, C2, C3, C4 = (sfid("003", n) for n in range(1, 5))
O1, O2, O3, O4 = (sfid("006", n) for n in range(1, 5))
T1, T2, T3 = (sfid("00T", n) for n in range(1, 4))
AN1, AN2, AN3 = (sfid("a00", n) for n in range(1, 4))
R1, R2, R3 = (sfid("a01", n) for n in range(1, 4))

SCHEMA = [
    obj("Profile", [fld("Name")]),
    obj("Group", [fld("Name")]),
    obj("User", [
        fld("Name"), fld("Email", "email"),
        fld("ProfileId", "reference", to=("Profile",), rel="Profile"),
        fld("ManagerId", "reference", to=("User",), rel="Manager"),
        fld("IsActive", "boolean"),
    ]),
    obj("Account", [
        fld("Name"), fld("Industry", "picklist"), fld("AnnualRevenue", "currency"),
        fld("NumberOfEmployees", "int"),
        fld("OwnerId", "reference", to=("User",), rel="Owner"),
        fld("ParentId", "reference", to=("Account",), rel="Parent"),
        fld("Description", "textarea", filterable=False, sortable=False, groupable=False),
        fld("CreatedDate", "datetime"), fld("Cothon_Ref__c"),
    ], [
        ChildRelationshipInfo("Contacts", "Contact", "AccountId"),
        ChildRelationshipInfo("Opportunities", "Opportunity", "AccountId"),
        ChildRelationshipInfo("ChildAccounts", "Account", "ParentId"),
        ChildRelationshipInfo("Tasks", "Task", "WhatId"),
    ]),
    obj("Contact", [
        fld("FirstName"), fld("LastName"), fld("Email", "email"), fld("Birthdate", "date"),
        fld("AccountId", "reference", to=("Account",), rel="Account"),
    ], [ChildRelationshipInfo("Opportunities", "Opportunity", "ContactId")]),
    obj("Opportunity", [
        fld("Name"), fld("Amount", "currency"), fld("StageName", "picklist"), fld("CloseDate", "date"),
        fld("IsWon", "boolean"), fld("CreatedDate", "datetime"),
        fld("AccountId", "reference", to=("Account",), rel="Account"),
        fld("ContactId", "reference", to=("Contact",), rel="Contact"),
        fld("OwnerId", "reference", to=("User",), rel="Owner"),
    ], [
        ChildRelationshipInfo("Tasks", "Task", "WhatId"),
        ChildRelationshipInfo("Cothon_Analyses__r", "Cothon_Analysis__c", "Opportunity__c"),
    ]),
    obj("Task", [
        fld("Subject"), fld("Status", "picklist"),
        fld("WhatId", "reference", to=("Account", "Opportunity"), rel="What"),
        fld("OwnerId", "reference", to=("User", "Group"), rel="Owner"),
    ]),
    obj("Cothon_Analysis__c", [
        fld("Name"), fld("Status__c", "picklist"), fld("Tags__c", "multipicklist"), fld("Score__c", "double"),
        fld("Opportunity__c", "reference", to=("Opportunity",), rel="Opportunity__r"),
    ], [ChildRelationshipInfo("Cothon_Requirements__r", "Cothon_Requirement__c", "Analysis__c")]),
    obj("Cothon_Requirement__c", [
        fld("Name"), fld("Priority__c", "int"), fld("Due__c", "date"),
        fld("Analysis__c", "reference", to=("Cothon_Analysis__c",), rel="Analysis__r"),
    ]),
]


def org_data() -> dict[str, list[dict[str, Any]]]:
    return {
        "Profile": [{"Id": PROFILE_ADMIN, "Name": "System Administrator"}, {"Id": PROFILE_STD, "Name": "Standard User"}],
        "Group": [{"Id": G1, "Name": "Bid Queue"}],
        "User": [
            {"Id": U1, "Name": "Ada Admin", "Email": "ada@example.com", "ProfileId": PROFILE_ADMIN, "ManagerId": None, "IsActive": True},
            {"Id": U2, "Name": "Bob Seller", "Email": "bob@example.com", "ProfileId": PROFILE_STD, "ManagerId": U1, "IsActive": True},
        ],
        "Account": [
            {"Id": A1, "Name": "Acme", "Industry": "Manufacturing", "AnnualRevenue": 5000000.0, "NumberOfEmployees": 120,
             "OwnerId": U1, "ParentId": None, "CreatedDate": "2024-01-10T09:00:00.000+0000", "Cothon_Ref__c": "ACC-1"},
            {"Id": A2, "Name": "Globex", "Industry": "Technology", "AnnualRevenue": None, "NumberOfEmployees": 40,
             "OwnerId": U2, "ParentId": A1, "CreatedDate": "2024-05-15T08:30:00.000+0000", "Cothon_Ref__c": "ACC-2"},
            {"Id": A3, "Name": "initech", "Industry": None, "AnnualRevenue": 250000.0, "NumberOfEmployees": None,
             "OwnerId": U2, "ParentId": A2, "CreatedDate": "2023-12-31T23:30:00.000+0000", "Cothon_Ref__c": None},
            {"Id": A4, "Name": "Gone Ltd", "Industry": "Technology", "OwnerId": U1, "IsDeleted": True,
             "CreatedDate": "2024-02-01T00:00:00.000+0000"},
        ],
        "Contact": [
            {"Id": C1, "FirstName": "Lindsay", "LastName": "Bluth", "Email": "lindsay@example.com", "AccountId": A1, "Birthdate": "1980-03-01"},
            {"Id": C2, "FirstName": "George", "LastName": "Bluth", "Email": None, "AccountId": A1, "Birthdate": None},
            {"Id": C3, "FirstName": "Annyong", "LastName": "Bluth", "Email": "annyong@example.com", "AccountId": A2, "Birthdate": None},
            {"Id": C4, "FirstName": "Scarlett", "LastName": "O'Hara", "Email": "100%_sure@example.com", "AccountId": None, "Birthdate": None},
        ],
        "Opportunity": [
            {"Id": O1, "Name": "Big Deal", "Amount": 5000.0, "StageName": "Prospecting", "CloseDate": "2024-05-15", "IsWon": False,
             "AccountId": A1, "ContactId": C1, "OwnerId": U2, "CreatedDate": "2024-05-01T12:00:00.000+0000"},
            {"Id": O2, "Name": "Small Deal", "Amount": 50.0, "StageName": "Closed Won", "CloseDate": "2024-05-10", "IsWon": True,
             "AccountId": A1, "ContactId": None, "OwnerId": U1, "CreatedDate": "2024-04-01T12:00:00.000+0000"},
            {"Id": O3, "Name": "No Amount", "Amount": None, "StageName": "Prospecting", "CloseDate": "2024-06-01", "IsWon": False,
             "AccountId": A2, "ContactId": None, "OwnerId": U2, "CreatedDate": "2024-05-14T23:59:59.000+0000"},
            {"Id": O4, "Name": "another deal", "Amount": 1200.0, "StageName": "Closed Lost", "CloseDate": "2024-04-30", "IsWon": False,
             "AccountId": None, "ContactId": None, "OwnerId": U1, "CreatedDate": "2023-06-01T00:00:00.000+0000"},
        ],
        "Task": [
            {"Id": T1, "Subject": "Call", "Status": "Open", "WhatId": O1, "OwnerId": U1},
            {"Id": T2, "Subject": "Email", "Status": "Completed", "WhatId": A1, "OwnerId": G1},
            {"Id": T3, "Subject": "Follow up", "Status": "Open", "WhatId": O1, "OwnerId": U2},
        ],
        "Cothon_Analysis__c": [
            {"Id": AN1, "Name": "Analysis One", "Status__c": "Draft", "Tags__c": "Security;Cloud", "Score__c": 7.5, "Opportunity__c": O1},
            {"Id": AN2, "Name": "Analysis Two", "Status__c": "Final", "Tags__c": "Cloud", "Score__c": None, "Opportunity__c": O3},
            {"Id": AN3, "Name": "Analysis Three", "Status__c": "Draft", "Tags__c": None, "Score__c": 9.0, "Opportunity__c": None},
        ],
        "Cothon_Requirement__c": [
            {"Id": R1, "Name": "Req A", "Priority__c": 2, "Due__c": "2024-05-20", "Analysis__c": AN1},
            {"Id": R2, "Name": "Req B", "Priority__c": 1, "Due__c": None, "Analysis__c": AN1},
            {"Id": R3, "Name": "Req C", "Priority__c": 3, "Due__c": "2024-05-01", "Analysis__c": AN2},
        ],
    }


@pytest.fixture
def source() -> MemorySource:
    return MemorySource(SCHEMA, org_data())


def attrs(type_: str, record_id: str, url_type: str | None = None) -> dict[str, str]:
    return {"type": type_, "url": f"{URL}/{url_type or type_}/{record_id}"}


def ids(result: Any) -> list[str]:
    return [r["Id"] for r in result.records]


def error_of(soql: str, source: MemorySource) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        execute(soql, source)
    return caught.value


# --- records and their shape ----------------------------------------------------------------


def test_it_returns_rest_records_with_fields_in_select_order(source: MemorySource) -> None:
    result = execute(f"SELECT Name, Id, AnnualRevenue FROM Account WHERE Id = '{A1}'", source)

    assert result.total_size == 1
    assert result.records == [{"attributes": attrs("Account", A1), "Name": "Acme", "Id": A1, "AnnualRevenue": 5000000.0}]
    assert list(result.records[0]) == ["attributes", "Name", "Id", "AnnualRevenue"]


def test_it_resolves_object_and_field_names_to_their_canonical_case(source: MemorySource) -> None:
    result = execute("select name, ID, cothon_ref__C from account where NAME = 'acme'", source)

    assert result.records == [{"attributes": attrs("Account", A1), "Name": "Acme", "Id": A1, "Cothon_Ref__c": "ACC-1"}]
    assert result.columns == ("Name", "Id", "Cothon_Ref__c")


def test_it_accepts_keywords_in_any_case(source: MemorySource) -> None:
    result = execute("SeLeCt Id FrOm Account wHeRe Name LiKe 'g%' OrDeR bY Name DeSc LiMiT 1", source)

    assert ids(result) == [A2]


def test_it_uses_the_api_version_in_record_urls(source: MemorySource) -> None:
    result = execute(f"SELECT Id FROM Account WHERE Id = '{A1}'", source, api_version="52.0")

    assert result.records[0]["attributes"]["url"] == f"/services/data/v52.0/sobjects/Account/{A1}"


def test_it_nests_parent_fields_under_the_relationship_name(source: MemorySource) -> None:
    result = execute(
        f"SELECT Name, Account.Name, Owner.Name, Account.Owner.Email FROM Opportunity WHERE Id = '{O1}'", source
    )

    assert result.records == [{
        "attributes": attrs("Opportunity", O1),
        "Name": "Big Deal",
        "Account": {
            "attributes": attrs("Account", A1),
            "Name": "Acme",
            "Owner": {"attributes": attrs("User", U1), "Email": "ada@example.com"},
        },
        "Owner": {"attributes": attrs("User", U2), "Name": "Bob Seller"},
    }]
    assert result.columns == ("Name", "Account.Name", "Owner.Name", "Account.Owner.Email")


def test_it_returns_null_for_an_empty_lookup(source: MemorySource) -> None:
    result = execute(f"SELECT Name, Account.Name, Account.Owner.Name FROM Opportunity WHERE Id = '{O4}'", source)

    assert result.records == [{"attributes": attrs("Opportunity", O4), "Name": "another deal", "Account": None}]


def test_it_follows_relationship_paths_five_levels_deep(source: MemorySource) -> None:
    result = execute(
        "SELECT Analysis__r.Opportunity__r.Account.Owner.Profile.Name, Analysis__r.Opportunity__r.Account.Parent.Name "
        f"FROM Cothon_Requirement__c WHERE Id = '{R1}'",
        source,
    )

    assert result.records[0]["Analysis__r"] == {
        "attributes": attrs("Cothon_Analysis__c", AN1),
        "Opportunity__r": {
            "attributes": attrs("Opportunity", O1),
            "Account": {
                "attributes": attrs("Account", A1),
                "Owner": {
                    "attributes": attrs("User", U1),
                    "Profile": {"attributes": attrs("Profile", PROFILE_ADMIN), "Name": "System Administrator"},
                },
                "Parent": None,
            },
        },
    }


def test_it_refuses_more_than_five_relationship_levels(source: MemorySource) -> None:
    err = error_of("SELECT Parent.Parent.Parent.Parent.Parent.Parent.Name FROM Account", source)

    assert err.error_code == "MALFORMED_QUERY"
    assert err.message.endswith("SOQL statements cannot query more than 5 levels of relationships")


def test_it_reports_polymorphic_parents_with_the_name_type(source: MemorySource) -> None:
    result = execute("SELECT Subject, What.Name, Owner.Name FROM Task ORDER BY Subject", source)

    assert result.records == [
        {"attributes": attrs("Task", T1), "Subject": "Call",
         "What": {"attributes": attrs("Name", O1, "Opportunity"), "Name": "Big Deal"},
         "Owner": {"attributes": attrs("Name", U1, "User"), "Name": "Ada Admin"}},
        {"attributes": attrs("Task", T2), "Subject": "Email",
         "What": {"attributes": attrs("Name", A1, "Account"), "Name": "Acme"},
         "Owner": {"attributes": attrs("Name", G1, "Group"), "Name": "Bid Queue"}},
        {"attributes": attrs("Task", T3), "Subject": "Follow up",
         "What": {"attributes": attrs("Name", O1, "Opportunity"), "Name": "Big Deal"},
         "Owner": {"attributes": attrs("Name", U2, "User"), "Name": "Bob Seller"}},
    ]


def test_it_filters_on_parent_fields(source: MemorySource) -> None:
    result = execute("SELECT Id FROM Opportunity WHERE Account.Owner.Name = 'ada admin' ORDER BY Name", source)

    assert ids(result) == [O1, O2]


def test_it_accepts_the_object_alias_and_object_name_as_prefixes(source: MemorySource) -> None:
    aliased = execute("SELECT a.Name, a.Owner.Name FROM Account a WHERE a.Name = 'Acme'", source)
    prefixed = execute("SELECT Account.Name FROM Account WHERE Account.Name = 'Acme'", source)

    assert aliased.records == [{"attributes": attrs("Account", A1), "Name": "Acme",
                                "Owner": {"attributes": attrs("User", U1), "Name": "Ada Admin"}}]
    assert prefixed.records == [{"attributes": attrs("Account", A1), "Name": "Acme"}]


# --- child subqueries -----------------------------------------------------------------------


def test_it_returns_child_records_or_null_when_there_are_none(source: MemorySource) -> None:
    result = execute("SELECT Name, (SELECT FirstName FROM Contacts) FROM Account ORDER BY Name", source)

    assert result.records == [
        {"attributes": attrs("Account", A1), "Name": "Acme", "Contacts": {
            "totalSize": 2, "done": True, "records": [
                {"attributes": attrs("Contact", C1), "FirstName": "Lindsay"},
                {"attributes": attrs("Contact", C2), "FirstName": "George"},
            ]}},
        {"attributes": attrs("Account", A2), "Name": "Globex", "Contacts": {
            "totalSize": 1, "done": True, "records": [{"attributes": attrs("Contact", C3), "FirstName": "Annyong"}]}},
        {"attributes": attrs("Account", A3), "Name": "initech", "Contacts": None},
    ]


def test_it_filters_orders_and_limits_child_rows_per_parent(source: MemorySource) -> None:
    result = execute(
        "SELECT Name, (SELECT Name, Owner.Name FROM Opportunities WHERE StageName != 'Closed Lost' "
        "ORDER BY Amount DESC NULLS LAST LIMIT 1) FROM Account WHERE Name IN ('Acme', 'Globex') ORDER BY Name",
        source,
    )

    assert [r["Opportunities"] for r in result.records] == [
        {"totalSize": 1, "done": True, "records": [
            {"attributes": attrs("Opportunity", O1), "Name": "Big Deal",
             "Owner": {"attributes": attrs("User", U2), "Name": "Bob Seller"}}]},
        {"totalSize": 1, "done": True, "records": [
            {"attributes": attrs("Opportunity", O3), "Name": "No Amount",
             "Owner": {"attributes": attrs("User", U2), "Name": "Bob Seller"}}]},
    ]


def test_it_nests_subqueries_through_a_master_detail_custom_object(source: MemorySource) -> None:
    result = execute(
        f"SELECT Name, (SELECT Name, (SELECT Name, Priority__c FROM Cothon_Requirements__r ORDER BY Priority__c) "
        f"FROM Cothon_Analyses__r) FROM Opportunity WHERE Id = '{O1}'",
        source,
    )

    assert result.records == [{
        "attributes": attrs("Opportunity", O1), "Name": "Big Deal",
        "Cothon_Analyses__r": {"totalSize": 1, "done": True, "records": [{
            "attributes": attrs("Cothon_Analysis__c", AN1), "Name": "Analysis One",
            "Cothon_Requirements__r": {"totalSize": 2, "done": True, "records": [
                {"attributes": attrs("Cothon_Requirement__c", R2), "Name": "Req B", "Priority__c": 1},
                {"attributes": attrs("Cothon_Requirement__c", R1), "Name": "Req A", "Priority__c": 2},
            ]},
        }]},
    }]


def test_it_follows_custom_relationships_up_from_the_detail(source: MemorySource) -> None:
    result = execute(
        "SELECT Name, Analysis__r.Name, Analysis__r.Opportunity__r.Account.Name FROM Cothon_Requirement__c "
        "WHERE Analysis__r.Status__c = 'Draft' ORDER BY Name",
        source,
    )

    assert result.records == [
        {"attributes": attrs("Cothon_Requirement__c", R1), "Name": "Req A", "Analysis__r": {
            "attributes": attrs("Cothon_Analysis__c", AN1), "Name": "Analysis One", "Opportunity__r": {
                "attributes": attrs("Opportunity", O1), "Account": {"attributes": attrs("Account", A1), "Name": "Acme"}}}},
        {"attributes": attrs("Cothon_Requirement__c", R2), "Name": "Req B", "Analysis__r": {
            "attributes": attrs("Cothon_Analysis__c", AN1), "Name": "Analysis One", "Opportunity__r": {
                "attributes": attrs("Opportunity", O1), "Account": {"attributes": attrs("Account", A1), "Name": "Acme"}}}},
    ]


def test_it_reproduces_a_captured_child_subquery_response() -> None:
    captured = json.loads((FIXTURES / "query_Contact_with_child_subquery.response.json").read_text())
    contacts = [
        {"Id": r["attributes"]["url"].rsplit("/", 1)[1], "FirstName": r["FirstName"]} for r in captured["records"]
    ]
    opportunities = [
        {"Id": child["attributes"]["url"].rsplit("/", 1)[1], "Name": child["Name"],
         "ContactId": parent["attributes"]["url"].rsplit("/", 1)[1]}
        for parent in captured["records"] if parent["Opportunities"]
        for child in parent["Opportunities"]["records"]
    ]
    org = MemorySource(SCHEMA, {"Contact": contacts, "Opportunity": opportunities})

    result = execute("select FirstName,(select Name from Opportunities) from Contact", org, api_version="xx.0")

    assert {"totalSize": result.total_size, "done": True, "records": result.records} == captured


def test_it_refuses_an_unknown_child_relationship(source: MemorySource) -> None:
    err = error_of("SELECT Id, (SELECT Id FROM Contact) FROM Account", source)

    assert err.error_code == "INVALID_TYPE"
    assert err.message == (
        "\nSELECT Id, (SELECT Id FROM Contact) FROM Account\n                           ^\n"
        "ERROR at Row:1:Column:28\nDidn't understand relationship 'Contact' in FROM part of query call. "
        "If you are attempting to use a custom relationship, be sure to append the '__r' after the custom "
        "relationship name. Please reference your WSDL or the describe call for the appropriate names."
    )


# --- WHERE ----------------------------------------------------------------------------------


def test_it_compares_text_case_insensitively(source: MemorySource) -> None:
    assert ids(execute("SELECT Id FROM Account WHERE Name = 'ACME'", source)) == [A1]
    assert ids(execute("SELECT Id FROM Account WHERE Industry IN ('technology')", source)) == [A2]


def test_it_counts_nulls_as_not_equal(source: MemorySource) -> None:
    assert ids(execute("SELECT Id FROM Account WHERE Industry != 'Technology'", source)) == [A1, A3]
    assert ids(execute("SELECT Id FROM Account WHERE Industry <> 'Technology'", source)) == [A1, A3]
    assert ids(execute("SELECT Id FROM Account WHERE Industry NOT IN ('Manufacturing')", source)) == [A2, A3]


def test_it_compares_null(source: MemorySource) -> None:
    assert ids(execute("SELECT Id FROM Account WHERE Industry = null", source)) == [A3]
    assert ids(execute("SELECT Id FROM Account WHERE Industry != NULL", source)) == [A1, A2]
    assert ids(execute("SELECT Id FROM Account WHERE Industry IN ('Technology', null)", source)) == [A2, A3]


def test_it_treats_an_empty_string_as_null(source: MemorySource) -> None:
    assert ids(execute("SELECT Id FROM Account WHERE Industry = ''", source)) == [A3]
    assert ids(execute("SELECT Id FROM Contact WHERE Email != ''", source)) == [C1, C3, C4]


def test_it_compares_numbers_and_never_matches_null_with_an_inequality(source: MemorySource) -> None:
    assert ids(execute("SELECT Id FROM Opportunity WHERE Amount > 100", source)) == [O1, O4]
    assert ids(execute("SELECT Id FROM Opportunity WHERE Amount >= 50.0", source)) == [O1, O2, O4]
    assert ids(execute("SELECT Id FROM Opportunity WHERE Amount < 1200", source)) == [O2]
    assert ids(execute("SELECT Id FROM Opportunity WHERE Amount <= 1200 AND Amount > -1", source)) == [O2, O4]
    assert ids(execute("SELECT Id FROM Account WHERE NumberOfEmployees IN (40, 120)", source)) == [A1, A2]


def test_it_combines_and_or_not_with_parentheses(source: MemorySource) -> None:
    soql = (
        "SELECT Id FROM Opportunity WHERE (StageName = 'Prospecting' OR Amount < 100) "
        "AND NOT (Name LIKE '%big%') AND (NOT IsWon = TRUE OR Amount = 50)"
    )
    assert ids(execute(soql, source)) == [O2, O3]
    assert ids(execute("SELECT Id FROM Opportunity WHERE NOT Amount > 100", source)) == [O2, O3]


def test_it_refuses_mixing_and_with_or_without_parentheses(source: MemorySource) -> None:
    err = error_of("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", source)

    assert err.error_code == "MALFORMED_QUERY"
    assert err.message == (
        "\nSELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'\n"
        "                                                       ^\n"
        "ERROR at Row:1:Column:56\nunexpected token: 'OR'"
    )


def test_it_matches_like_patterns_case_insensitively_with_wildcards(source: MemorySource) -> None:
    assert ids(execute("SELECT Id FROM Account WHERE Name LIKE 'ac%'", source)) == [A1]
    assert ids(execute("SELECT Id FROM Account WHERE Name LIKE '_LOBE_'", source)) == [A2]
    assert ids(execute("SELECT Id FROM Account WHERE Name LIKE '%e%'", source)) == [A1, A2, A3]
    assert ids(execute("SELECT Id FROM Contact WHERE Email LIKE '100\\%\\_%'", source)) == [C4]
    assert ids(execute("SELECT Id FROM Contact WHERE Email LIKE '1000%'", source)) == []


def test_it_unescapes_string_literals(source: MemorySource) -> None:
    assert ids(execute("SELECT Id FROM Contact WHERE LastName = 'O\\'Hara'", source)) == [C4]
    assert parse("SELECT Id FROM Account WHERE Name = 'a\\\\b\\nc\\td\\\"e\\u00e9'").where == Compare(
        FieldPath(("Name",), 29), "=", StringLit('a\\b\nc\td"eé', 'a\\\\b\\nc\\td\\"e\\u00e9', 36)
    )


def test_it_refuses_an_unknown_string_escape(source: MemorySource) -> None:
    err = error_of("SELECT Id FROM Account WHERE Name = 'a\\qb'", source)

    assert err.error_code == "MALFORMED_QUERY"
    assert err.message.endswith(
        "ERROR at Row:1:Column:37\nInvalid string literal 'a\\qb'. Illegal character sequence '\\q' in string literal."
    )


def test_it_matches_15_and_18_character_ids(source: MemorySource) -> None:
    result = execute(f"SELECT Id FROM Account WHERE Id IN ('{A1[:15]}', '{A2}')", source)
    by_reference = execute(f"SELECT Id FROM Contact WHERE AccountId = '{A1[:15]}'", source)

    assert ids(result) == [A1, A2]
    assert ids(by_reference) == [C1, C2]


def test_it_filters_with_a_semi_join_and_an_anti_join(source: MemorySource) -> None:
    semi = execute("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity WHERE Amount > 1000)", source)
    anti = execute("SELECT Id FROM Account WHERE Id NOT IN (SELECT AccountId FROM Opportunity)", source)

    by_reference = execute(
        "SELECT Id FROM Opportunity WHERE AccountId IN (SELECT Id FROM Account WHERE Industry = 'Technology')", source
    )

    assert ids(semi) == [A1]
    assert ids(anti) == [A3]
    assert ids(by_reference) == [O3]


def test_it_filters_multipicklists_with_includes_and_excludes(source: MemorySource) -> None:
    def names(where: str) -> list[str]:
        return [r["Name"] for r in execute(f"SELECT Name FROM Cothon_Analysis__c WHERE {where}", source).records]

    assert names("Tags__c INCLUDES ('cloud')") == ["Analysis One", "Analysis Two"]
    assert names("Tags__c INCLUDES ('Security;Cloud')") == ["Analysis One"]
    assert names("Tags__c INCLUDES ('Security;Other', 'Cloud')") == ["Analysis One", "Analysis Two"]
    assert names("Tags__c EXCLUDES ('Security')") == ["Analysis Two", "Analysis Three"]
    assert names("Tags__c = 'Cloud;Security'") == ["Analysis One"]


def test_it_compares_booleans(source: MemorySource) -> None:
    assert ids(execute("SELECT Id FROM Opportunity WHERE IsWon = TRUE", source)) == [O2]
    assert ids(execute("SELECT Id FROM Opportunity WHERE IsWon = false", source)) == [O1, O3, O4]


def test_it_compares_dates(source: MemorySource) -> None:
    assert ids(execute("SELECT Id FROM Opportunity WHERE CloseDate = 2024-05-15", source)) == [O1]
    assert ids(execute("SELECT Id FROM Opportunity WHERE CloseDate > 2024-05-10", source)) == [O1, O3]
    assert ids(execute("SELECT Id FROM Opportunity WHERE CloseDate <= 2024-05-10", source)) == [O2, O4]


def test_it_compares_datetimes_across_timezone_offsets(source: MemorySource) -> None:
    def matching(where: str) -> list[str]:
        return ids(execute(f"SELECT Id FROM Account WHERE {where}", source))

    assert matching("CreatedDate > 2024-05-15T10:00:00+05:00") == [A2]  # 05:00Z < 08:30Z
    assert matching("CreatedDate > 2024-05-15T08:30:00Z") == []
    assert matching("CreatedDate = 2024-05-15T08:30:00.000+0000") == [A2]
    assert matching("CreatedDate = 2024-05-15T03:30:00-05:00") == [A2]
    assert matching("CreatedDate < 2024-01-01T00:31:00+01:00") == [A3]  # 23:31Z the day before
    assert matching("CreatedDate < 2024-01-01T00:30:00+01:00") == []  # exactly 23:30Z


def test_it_compares_date_fields_with_date_constants(source: MemorySource) -> None:
    def matching(where: str) -> list[str]:
        return ids(execute(f"SELECT Id FROM Opportunity WHERE {where} ORDER BY CloseDate", source))

    assert matching("CloseDate = TODAY") == [O1]
    assert matching("CloseDate < TODAY") == [O4, O2]
    assert matching("CloseDate > TODAY") == [O3]
    assert matching("CloseDate = LAST_N_DAYS:5") == [O2, O1]
    assert matching("CloseDate = NEXT_N_DAYS:17") == [O3]
    assert matching("CloseDate = NEXT_N_DAYS:16") == []
    assert matching("CloseDate = THIS_MONTH") == [O2, O1]
    assert matching("CloseDate = LAST_MONTH") == [O4]
    assert matching("CloseDate = NEXT_MONTH") == [O3]
    assert matching("CloseDate >= THIS_MONTH") == [O2, O1, O3]
    assert matching("CloseDate <= LAST_MONTH") == [O4]
    assert matching("CloseDate = N_DAYS_AGO:5") == [O2]
    assert matching("CloseDate != THIS_QUARTER") == []


def test_it_compares_datetime_fields_with_date_constants_in_utc(source: MemorySource) -> None:
    def matching(where: str) -> list[str]:
        return ids(execute(f"SELECT Id FROM Account WHERE {where}", source))

    assert matching("CreatedDate = TODAY") == [A2]
    assert matching("CreatedDate = LAST_YEAR") == [A3]
    assert matching("CreatedDate = THIS_YEAR") == [A1, A2]
    assert matching("CreatedDate < THIS_YEAR") == [A3]
    assert matching("CreatedDate = LAST_N_DAYS:200") == [A1, A2, A3]


TODAY = date(2024, 5, 15)  # Wednesday; weeks start on Sunday 2024-05-12


@pytest.mark.parametrize(
    ("literal", "n", "start", "end"),
    [
        ("TODAY", None, date(2024, 5, 15), date(2024, 5, 16)),
        ("YESTERDAY", None, date(2024, 5, 14), date(2024, 5, 15)),
        ("TOMORROW", None, date(2024, 5, 16), date(2024, 5, 17)),
        ("LAST_N_DAYS", 3, date(2024, 5, 12), date(2024, 5, 16)),
        ("NEXT_N_DAYS", 3, date(2024, 5, 16), date(2024, 5, 19)),
        ("LAST_90_DAYS", None, date(2024, 2, 15), date(2024, 5, 16)),
        ("N_DAYS_AGO", 15, date(2024, 4, 30), date(2024, 5, 1)),
        ("THIS_WEEK", None, date(2024, 5, 12), date(2024, 5, 19)),
        ("LAST_WEEK", None, date(2024, 5, 5), date(2024, 5, 12)),
        ("NEXT_WEEK", None, date(2024, 5, 19), date(2024, 5, 26)),
        ("THIS_MONTH", None, date(2024, 5, 1), date(2024, 6, 1)),
        ("LAST_MONTH", None, date(2024, 4, 1), date(2024, 5, 1)),
        ("NEXT_MONTH", None, date(2024, 6, 1), date(2024, 7, 1)),
        ("THIS_QUARTER", None, date(2024, 4, 1), date(2024, 7, 1)),
        ("LAST_QUARTER", None, date(2024, 1, 1), date(2024, 4, 1)),
        ("THIS_YEAR", None, date(2024, 1, 1), date(2025, 1, 1)),
        ("LAST_YEAR", None, date(2023, 1, 1), date(2024, 1, 1)),
        ("LAST_N_MONTHS", 2, date(2024, 3, 1), date(2024, 5, 1)),
        ("NEXT_N_WEEKS", 1, date(2024, 5, 19), date(2024, 5, 26)),
        ("THIS_FISCAL_YEAR", None, date(2024, 1, 1), date(2025, 1, 1)),
    ],
)
def test_date_constants_cover_salesforce_ranges(literal: str, n: int | None, start: date, end: date) -> None:
    assert date_constant_range(literal, n, TODAY) == (start, end)


def test_it_filters_with_date_functions(source: MemorySource) -> None:
    assert ids(execute("SELECT Id FROM Opportunity WHERE CALENDAR_YEAR(CreatedDate) = 2023", source)) == [O4]
    assert ids(execute("SELECT Id FROM Opportunity WHERE CALENDAR_MONTH(CloseDate) = 5", source)) == [O1, O2]


# --- ORDER BY, LIMIT, OFFSET ----------------------------------------------------------------


def test_it_orders_nulls_first_ascending(source: MemorySource) -> None:
    assert ids(execute("SELECT Id FROM Opportunity ORDER BY Amount", source)) == [O3, O2, O4, O1]


def test_it_orders_nulls_last_descending(source: MemorySource) -> None:
    assert ids(execute("SELECT Id FROM Opportunity ORDER BY Amount DESC", source)) == [O1, O4, O2, O3]


def test_it_honours_explicit_nulls_placement(source: MemorySource) -> None:
    assert ids(execute("SELECT Id FROM Opportunity ORDER BY Amount ASC NULLS LAST", source)) == [O2, O4, O1, O3]
    assert ids(execute("SELECT Id FROM Opportunity ORDER BY Amount DESC NULLS FIRST", source)) == [O3, O1, O4, O2]


def test_it_orders_by_several_fields_with_their_own_directions(source: MemorySource) -> None:
    result = execute("SELECT Id FROM Opportunity ORDER BY StageName DESC, CloseDate ASC", source)

    assert ids(result) == [O1, O3, O2, O4]


def test_it_orders_text_case_insensitively_and_by_parent_fields(source: MemorySource) -> None:
    assert ids(execute("SELECT Id FROM Opportunity ORDER BY Name", source)) == [O4, O1, O3, O2]
    assert ids(execute("SELECT Id FROM Opportunity ORDER BY Account.Name DESC NULLS LAST, Name", source)) == [
        O3, O1, O2, O4,
    ]


def test_it_applies_offset_and_limit_after_ordering(source: MemorySource) -> None:
    result = execute("SELECT Id FROM Opportunity ORDER BY CloseDate DESC LIMIT 2 OFFSET 1", source)

    assert ids(result) == [O1, O2]
    assert result.total_size == 2


# --- aggregates -----------------------------------------------------------------------------


def test_count_alone_returns_the_count_as_total_size(source: MemorySource) -> None:
    result = execute("SELECT COUNT() FROM Opportunity WHERE StageName = 'Prospecting'", source)

    assert (result.total_size, result.records) == (2, [])
    assert execute("SELECT count() FROM Opportunity LIMIT 3", source).total_size == 3


def test_count_with_group_by_counts_the_groups(source: MemorySource) -> None:
    assert execute("SELECT COUNT() FROM Opportunity GROUP BY StageName", source).total_size == 3


def test_it_aggregates_without_group_by_into_one_row(source: MemorySource) -> None:
    result = execute(
        "SELECT COUNT(Id), COUNT(Amount) withAmount, SUM(Amount), AVG(Amount), MIN(CloseDate), MAX(Name), "
        "COUNT_DISTINCT(StageName) FROM Opportunity",
        source,
    )

    assert result.records == [{
        "attributes": {"type": "AggregateResult"},
        "expr0": 4, "withAmount": 3, "expr1": 6250.0, "expr2": 6250.0 / 3, "expr3": "2024-04-30",
        "expr4": "Small Deal", "expr5": 3,
    }]
    assert result.columns == ("expr0", "withAmount", "expr1", "expr2", "expr3", "expr4", "expr5")


def test_it_returns_one_aggregate_row_over_no_records(source: MemorySource) -> None:
    result = execute("SELECT COUNT(Id) n, SUM(Amount) total FROM Opportunity WHERE Name = 'none'", source)

    assert result.records == [{"attributes": {"type": "AggregateResult"}, "n": 0, "total": None}]


def test_it_groups_and_orders_aggregate_rows(source: MemorySource) -> None:
    result = execute(
        "SELECT StageName, COUNT(Id) deals, SUM(Amount) FROM Opportunity GROUP BY StageName ORDER BY COUNT(Id) DESC, StageName",
        source,
    )

    assert result.records == [
        {"attributes": {"type": "AggregateResult"}, "StageName": "Prospecting", "deals": 2, "expr0": 5000.0},
        {"attributes": {"type": "AggregateResult"}, "StageName": "Closed Lost", "deals": 1, "expr0": 1200.0},
        {"attributes": {"type": "AggregateResult"}, "StageName": "Closed Won", "deals": 1, "expr0": 50.0},
    ]


def test_it_keys_a_grouped_parent_field_by_its_own_name(source: MemorySource) -> None:
    result = execute(
        "SELECT Account.Name, MAX(Amount) FROM Opportunity GROUP BY Account.Name ORDER BY Account.Name NULLS LAST",
        source,
    )

    assert result.records == [
        {"attributes": {"type": "AggregateResult"}, "Name": "Acme", "expr0": 5000.0},
        {"attributes": {"type": "AggregateResult"}, "Name": "Globex", "expr0": None},
        {"attributes": {"type": "AggregateResult"}, "Name": None, "expr0": 1200.0},
    ]


def test_it_filters_groups_with_having(source: MemorySource) -> None:
    result = execute(
        "SELECT AccountId, COUNT(Id) c FROM Opportunity GROUP BY AccountId HAVING COUNT(Id) > 1", source
    )

    assert result.records == [{"attributes": {"type": "AggregateResult"}, "AccountId": A1, "c": 2}]


def test_it_groups_by_a_date_function(source: MemorySource) -> None:
    result = execute(
        "SELECT CALENDAR_MONTH(CloseDate) month, COUNT(Id) FROM Opportunity "
        "GROUP BY CALENDAR_MONTH(CloseDate) ORDER BY CALENDAR_MONTH(CloseDate)",
        source,
    )

    assert [(r["month"], r["expr0"]) for r in result.records] == [(4, 1), (5, 2), (6, 1)]


def test_it_reproduces_a_captured_aggregate_response() -> None:
    captured = json.loads((FIXTURES / "query_aggregate_success_response.json").read_text())
    schema = [obj("Campaign", [fld("Name")]), obj("Opportunity", [
        fld("Amount", "currency"), fld("CampaignId", "reference", to=("Campaign",), rel="Campaign")])]
    rows = [("701E0000000JuFHIA0", 100.0), ("701E00000005ZqAIAU", 100.0), (None, 150.0),
            ("701E0000000JuFHIA0", 200.0), (None, 250.0)]
    org = MemorySource(schema, {"Opportunity": [
        {"Id": sfid("006", n), "CampaignId": c, "Amount": a} for n, (c, a) in enumerate(rows)]})

    result = execute("SELECT CampaignId, SUM(Amount) FROM Opportunity GROUP BY CampaignId", org)

    assert {"totalSize": result.total_size, "done": True, "records": result.records} == captured


# --- FOR clauses, ALL ROWS, deleted rows, FIELDS() ------------------------------------------


@pytest.mark.parametrize("tail", ["FOR UPDATE", "FOR VIEW", "FOR REFERENCE", "UPDATE TRACKING"])
def test_it_accepts_and_ignores_for_clauses(source: MemorySource, tail: str) -> None:
    assert ids(execute(f"SELECT Id FROM Account WHERE Name = 'Acme' LIMIT 1 {tail}", source)) == [A1]


def test_it_returns_deleted_rows_only_for_query_all(source: MemorySource) -> None:
    assert ids(execute("SELECT Id FROM Account WHERE Industry = 'Technology'", source)) == [A2]
    assert ids(execute("SELECT Id FROM Account WHERE Industry = 'Technology'", source, include_deleted=True)) == [A2, A4]
    assert ids(execute("SELECT Id FROM Account WHERE Industry = 'Technology' ALL ROWS", source)) == [A2, A4]


def test_it_expands_fields_functions(source: MemorySource) -> None:
    custom = execute(f"SELECT FIELDS(CUSTOM) FROM Account WHERE Id = '{A1}' LIMIT 1", source)
    standard = execute(f"SELECT FIELDS(STANDARD) FROM Cothon_Requirement__c WHERE Id = '{R1}'", source)

    assert custom.records == [{"attributes": attrs("Account", A1), "Cothon_Ref__c": "ACC-1"}]
    assert list(standard.records[0]) == ["attributes", "Id", "Name", "IsDeleted"]


def test_it_returns_values_unchanged_through_display_functions(source: MemorySource) -> None:
    result = execute(f"SELECT toLabel(StageName), FORMAT(Amount) FROM Opportunity WHERE Id = '{O1}'", source)

    assert result.records == [{"attributes": attrs("Opportunity", O1), "StageName": "Prospecting", "Amount": 5000.0}]


def test_it_requires_a_limit_with_fields_all(source: MemorySource) -> None:
    err = error_of("SELECT FIELDS(ALL) FROM Account", source)

    assert err.error_code == "MALFORMED_QUERY"
    assert err.message.endswith("The SOQL FIELDS function must have a LIMIT of at most 200")


# --- what reaches the store -----------------------------------------------------------------


def test_it_passes_equality_hints_to_the_store(source: MemorySource) -> None:
    execute("SELECT Id FROM Account WHERE Cothon_Ref__c = 'ACC-1' AND Industry != 'x' AND Name IN ('Acme', 'B')", source)
    execute(f"SELECT Id FROM Account WHERE Id = '{A1[:15]}' OR Name = 'x'", source)
    execute(f"SELECT Id FROM Account WHERE Id = '{A1[:15]}'", source)

    assert source.calls == [
        ("Account", {"cothon_ref__c": frozenset({"ACC-1"}), "name": frozenset({"Acme", "B"})}),
        ("Account", None),
        ("Account", {"id": frozenset({A1[:15], A1})}),
    ]


def test_it_narrows_child_subqueries_to_the_parents_of_the_page(source: MemorySource) -> None:
    execute("SELECT Name, (SELECT Id FROM Contacts WHERE LastName = 'Bluth') FROM Account ORDER BY Name LIMIT 2", source)

    assert source.calls == [
        ("Account", None),
        ("Contact", {"lastname": frozenset({"Bluth"}), "accountid": frozenset({A1, A2})}),
    ]


def test_it_scans_each_object_once_and_fetches_parents_in_batches(source: MemorySource) -> None:
    execute("SELECT Name, Account.Name, Account.Owner.Name, Owner.Name FROM Opportunity WHERE Amount > 10 ORDER BY Name", source)

    assert source.calls == [
        ("Opportunity", None),
        ("Account", {"id": frozenset({A1})}),  # Account.Name, for the page only
        ("User", {"id": frozenset({U1, U2})}),  # Owner.Name; Account.Owner (U1) is then cached
    ]


def test_parse_returns_the_syntax_tree_and_caches_it() -> None:
    soql = "SELECT Name FROM Account WHERE Name = 'x'"
    tree = parse(soql)

    assert isinstance(tree, Query)
    assert tree.select == (SelectField(FieldPath(("Name",), 7), None),)
    assert tree.from_name == "Account"
    assert parse(soql) is tree


# --- errors ---------------------------------------------------------------------------------


def test_it_reports_a_truncated_query_at_the_end(source: MemorySource) -> None:
    err = error_of("SELECT Id FROM", source)

    assert err.error_code == "MALFORMED_QUERY"
    assert err.message == "\nSELECT Id FROM\n              ^\nERROR at Row:1:Column:15\nunexpected token: '<EOF>'"
    assert err.as_error_body() == [{"message": err.message, "errorCode": "MALFORMED_QUERY"}]


def test_it_reports_an_unexpected_token_where_it_is(source: MemorySource) -> None:
    err = error_of("SELECT Id, FROM Account", source)

    assert err.message == "\nSELECT Id, FROM Account\n           ^\nERROR at Row:1:Column:12\nunexpected token: 'FROM'"


def test_it_echoes_only_the_line_of_a_multi_line_query(source: MemorySource) -> None:
    err = error_of("SELECT Id\nFROM Account\nWHERE Name = 'x' AND\nLIMIT 5", source)

    assert err.message == "\nLIMIT 5\n^\nERROR at Row:4:Column:1\nunexpected token: 'LIMIT'"


def test_it_refuses_reserved_words_as_names_but_not_ordinary_keywords(source: MemorySource) -> None:
    order = MemorySource([obj("Order", [fld("Name"), fld("Limit__c")])], {"Order": [{"Id": sfid("801", 1), "Name": "o"}]})

    assert ids(execute("SELECT Id FROM Order ORDER BY Name LIMIT 1", order)) == [sfid("801", 1)]
    assert error_of("SELECT Id FROM Account WITH SECURITY_ENFORCED", source).message.endswith("unexpected token: 'WITH'")


def test_it_reports_an_unknown_object_as_salesforce_does() -> None:
    captured = json.loads((FIXTURES / "composite_query_INVALID_TYPE.response.json").read_text())
    expected = captured["compositeResponse"][1]["body"][0]

    err = error_of("select count() from XYZZY", MemorySource(SCHEMA, {}))

    assert err.as_error_body() == [expected]


def test_it_reports_an_unknown_field(source: MemorySource) -> None:
    err = error_of("SELECT Id, Bacon__c FROM Account LIMIT 2", source)

    assert err.error_code == "INVALID_FIELD"
    assert err.message == (
        "\nSELECT Id, Bacon__c FROM Account LIMIT 2\n           ^\nERROR at Row:1:Column:12\n"
        "No such column 'Bacon__c' on entity 'Account'. If you are attempting to use a custom field, be sure to "
        "append the '__c' after the custom field name. Please reference your WSDL or the describe call for the "
        "appropriate names."
    )


def test_it_reports_an_unknown_field_behind_a_relationship(source: MemorySource) -> None:
    err = error_of("SELECT Id FROM Contact WHERE Account.Nme = 'x'", source)

    assert err.error_code == "INVALID_FIELD"
    assert "ERROR at Row:1:Column:30\nNo such column 'Nme' on entity 'Account'." in err.message


def test_it_reports_an_unknown_relationship(source: MemorySource) -> None:
    err = error_of("SELECT Acount.Name FROM Contact", source)

    assert err.error_code == "INVALID_FIELD"
    assert err.message.startswith(
        "\nSELECT Acount.Name FROM Contact\n       ^\nERROR at Row:1:Column:8\n"
        "Didn't understand relationship 'Acount' in field path."
    )


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("CloseDate = '2024-05-15'", "value of filter criterion for field 'CloseDate' must be of type date and should not be enclosed in quotes"),
        ("CloseDate = 2024-05-15T00:00:00Z", "value of filter criterion for field 'CloseDate' must be of type date and should not be enclosed in quotes"),
        ("CreatedDate > 2024-05-15", "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes"),
        ("Amount > '100'", "value of filter criterion for field 'Amount' must be of type double and should not be enclosed in quotes"),
        ("IsWon = 'true'", "value of filter criterion for field 'IsWon' must be of type boolean and should not be enclosed in quotes"),
        ("Name = 5", "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"),
        ("Name = TODAY", "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"),
    ],
)
def test_it_refuses_a_literal_of_the_wrong_type(source: MemorySource, where: str, reason: str) -> None:
    err = error_of(f"SELECT Id FROM Opportunity WHERE {where}", source)

    assert err.error_code == "INVALID_FIELD"
    assert err.message == f"\nSELECT Id FROM Opportunity WHERE {where}\n{' ' * 33}^\nERROR at Row:1:Column:34\n{reason}"


def test_it_refuses_an_invalid_date_literal(source: MemorySource) -> None:
    err = error_of("SELECT Id FROM Opportunity WHERE CloseDate = 2024-13-01", source)

    assert err.error_code == "MALFORMED_QUERY"
    assert err.message == (
        "\nSELECT Id FROM Opportunity WHERE CloseDate = 2024-13-01\n" + " " * 45 + "^\n"
        "ERROR at Row:1:Column:46\nInvalid date: 2024-13-01"
    )


def test_it_refuses_an_invalid_datetime_literal(source: MemorySource) -> None:
    err = error_of("SELECT Id FROM Account WHERE CreatedDate > 2020-12-12T12:12:00-25:00", source)

    assert err.error_code == "MALFORMED_QUERY"
    assert err.message.endswith("ERROR at Row:1:Column:44\nInvalid datetime: 2020-12-12T12:12:00-25:00")


def test_it_refuses_an_unknown_date_constant(source: MemorySource) -> None:
    err = error_of("SELECT Id FROM Opportunity WHERE CloseDate = LAST_FORTNIGHT", source)

    assert err.error_code == "MALFORMED_QUERY"
    assert err.message.endswith("ERROR at Row:1:Column:46\nunexpected token: 'LAST_FORTNIGHT'")


def test_it_refuses_an_invalid_id(source: MemorySource) -> None:
    err = error_of("SELECT Id FROM Account WHERE Id = 'abc'", source)

    assert err.error_code == "MALFORMED_QUERY"
    assert err.message.endswith("ERROR at Row:1:Column:35\ninvalid ID field: abc")


@pytest.mark.parametrize(
    ("soql", "code", "reason"),
    [
        ("SELECT Name, COUNT(Id) FROM Account", "MALFORMED_QUERY", "Field must be grouped or aggregated: Name"),
        ("SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry ORDER BY Name", "MALFORMED_QUERY",
         "Ordered field must be grouped or aggregated: Name"),
        ("SELECT Id, COUNT() FROM Account", "MALFORMED_QUERY", "COUNT() must be the only element in the SELECT list."),
        ("SELECT SUM(Name) FROM Account", "INVALID_FIELD", "field Name does not support aggregate operator SUM"),
        ("SELECT Id FROM Account WHERE Description = 'x'", "INVALID_FIELD", "field 'Description' can not be filtered in a query call"),
        ("SELECT Id FROM Account ORDER BY Description", "INVALID_FIELD", "field 'Description' can not be sorted in a query call"),
        ("SELECT Id FROM Account WHERE Name INCLUDES ('x')", "INVALID_FIELD", "includes or excludes operator only valid on multipicklist field"),
        ("SELECT Name n FROM Account", "MALFORMED_QUERY", "Only aggregate expressions use field aliasing"),
        ("SELECT Id FROM Account LIMIT 5 OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000"),
    ],
)
def test_it_refuses_invalid_queries_with_salesforce_wording(source: MemorySource, soql: str, code: str, reason: str) -> None:
    err = error_of(soql, source)

    assert (err.error_code, err.message.rsplit("\n", 1)[-1]) == (code, reason)
    assert "\nERROR at Row:1:Column:" in err.message


def test_it_refuses_a_field_selected_twice(source: MemorySource) -> None:
    err = error_of("SELECT Id, Name, id FROM Account", source)

    assert (err.error_code, err.message) == ("INVALID_FIELD", "duplicate field selected: Id")
