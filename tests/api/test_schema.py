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
    assert set(response.json()) == {"opportunities", "analyses", "proposals", "quotes", "quote-custom-fields", "contacts",
                                    "departments", "comments",
                                    "connections", "sync-runs", "sync-logs", "sync-conflicts", "legacy-match-jobs", "legacy-proposals", "drift-reports",
                                    "routed-files", "alert-settings", "alert-incidents", "dashboard"}
    assert response.json()["opportunities"] == "http://testserver/api/v1/opportunities/"


def _schema() -> dict:
    return APIClient().get("/api/schema/", {"format": "json"}).json()


def test_names_that_can_be_null_are_nullable_in_the_schema(db):
    properties = _schema()["components"]["schemas"]
    assert properties["Opportunity"]["properties"]["department_name"].get("nullable") is True
    assert properties["Comment"]["properties"]["author_username"].get("nullable") is True


def test_a_patch_answers_department_name_even_when_null(alice, alice_api, opportunity_factory):
    # DRF skipped the field's default in partial updates: PATCH answered without the key.
    opportunity = opportunity_factory(alice.tenant)
    body = alice_api.patch(f"/api/v1/opportunities/{opportunity.pk}/", {}, format="json").json()
    assert "department_name" in body and body["department_name"] is None


def test_every_operation_documents_its_errors_in_the_error_shape(db):
    schema = _schema()
    components = schema["components"]["schemas"]
    assert components["Error"]["required"] == ["detail", "code"]
    assert components["ValidationError"]["required"] == ["detail", "errors"]
    for path, item in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert {"401", "403"} <= codes, (method, path)
            if method in ("post", "put", "patch"):
                assert {"400", "413"} <= codes, (method, path)
            if "{id}" in path:
                assert "404" in codes, (method, path)
    assert "503" in schema["paths"]["/api/v1/proposals/{id}/generate/"]["post"]["responses"]
