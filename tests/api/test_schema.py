"""The OpenAPI document and its browsable docs."""

from __future__ import annotations

from rest_framework.test import APIClient


def test_the_schema_is_an_openapi_document_with_the_api_paths(db):
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Cothon API"
    for path in ("/api/v1/opportunities/", "/api/v1/opportunities/{id}/", "/api/v1/opportunities/{id}/comments/",
                 "/api/v1/analyses/{id}/complete/", "/api/v1/analyses/{id}/requirements/",
                 "/api/v1/proposals/{id}/generate/", "/api/v1/quotes/{id}/line-items/", "/api/v1/departments/"):
        assert path in schema["paths"], path
    assert set(schema["paths"]["/api/v1/opportunities/{id}/"]) >= {"get", "put", "patch", "delete"}
    listed = {p["name"] for p in schema["paths"]["/api/v1/opportunities/"]["get"]["parameters"]}
    assert listed >= {"status", "department", "closing_after", "closing_before", "search", "ordering", "page", "page_size"}
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"
    assert "salesforce" in schema["components"]["schemas"]["Opportunity"]["properties"]


def test_every_reference_in_the_schema_resolves(db):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    refs: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert refs
    missing = [ref for ref in refs if ref.rsplit("/", 1)[-1] not in schema["components"]["schemas"]]
    assert missing == []


def test_the_browsable_docs_are_served(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_the_api_root_lists_the_resources(alice, alice_api):
    response = alice_api.get("/api/v1/")
    assert response.status_code == 200
    assert set(response.json()) == {"opportunities", "analyses", "proposals", "quotes", "departments", "comments",
                                    "connections"}
    assert response.json()["opportunities"] == "http://testserver/api/v1/opportunities/"
