"""Who reaches which route (issue 15 #10).

1. Every route that takes an id, walked from the URL resolver, answers 404 for an id of another
   organization — for every role (403 where the role is refused before the lookup). A new route
   with an id fails this test until it is added to ROUTE_IDS.
2. Settings › Integrations is admin-only; Sync operations (Sync Now, runs, cancel) too; every role
   reads the sync overview, logs, API usage and a record's sync history (docs/user-guide.md, Roles).
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.sync_settings import settings_ensure_initial
from sync_engine.models import SyncConflict, SyncLink, SyncLog, SyncRun, SyncRunKind, SyncRunStatus
from tests.api.conftest import make_records

pytestmark = pytest.mark.django_db


def _routes(resolver=None, namespace: str = "") -> list[tuple[str, object]]:
    """(namespaced name, pattern) of every route, admin and DRF format-suffix variants left out."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}".strip(":") if entry.namespace else namespace
            if inner == "admin":
                continue
            found += _routes(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            found.append((f"{namespace}:{entry.name}".strip(":"), entry.pattern))
    return found


def _routes_with_ids() -> set[str]:
    names = set()
    for name, pattern in _routes():
        params = set(pattern.regex.groupindex) - {"format"}
        if params:
            names.add(name)
    return names


# Which of the other organization's objects each route's parameters name.
ROUTE_IDS: dict[str, dict[str, str]] = {
    **{f"opportunities:{n}": {"pk": "opportunity"} for n in
       ("detail", "live", "edit", "validate_existing", "delete", "comment_create", "sync", "analysis_create",
        "salesforce_search", "salesforce_relink", "salesforce_skip", "salesforce_unskip", "salesforce_recreate")},
    **{f"opportunities:{n}": {"analysis_pk": "analysis"} for n in ("analysis_edit", "requirement_add", "analysis_complete")},
    "proposals:create": {"pk": "opportunity"},
    **{f"proposals:{n}": {"proposal_pk": "proposal"} for n in ("edit", "generate", "document")},
    "proposals:quote_pdf": {"quote_pk": "quote"},
    # Send to Salesforce from the quote page (sync_engine.quotes.send_views).
    **{f"quote_send:{n}": {"pk": "quote"} for n in ("send", "status")},
    **{f"departments:{n}": {"pk": "department"} for n in ("detail", "edit", "delete")},
    # People (contacts) pages (issue 18).
    **{f"people:{n}": {"pk": "contact"} for n in ("detail", "edit", "delete")},
    **{f"integrations:{n}": {"pk": "connection"} for n in
       ("connection", "reconnect", "refresh", "disconnect", "make_default", "update", "user_links", "user_links_prefill",
        "settings", "settings_history", "settings_compare", "dry_run", "custom_fields", "conflicts", "conflicts_csv",
        "conflicts_resolve", "account_cache_clear")},
    "integrations:settings_restore": {"pk": "connection", "version": "@1"},
    "sync:record_history": {"record_type": "@opportunity", "record_id": "opportunity"},
    "sync:record_run_status": {"pk": "record_run"},
    **{f"sync:{n}": {"pk": "connection"} for n in ("sync_now", "reconcile", "run_list", "usage", "health", "partner_gone")},
    **{f"sync:{n}": {"pk": "run"} for n in ("run_progress", "run_cancel")},
    # A sync-log row's Skip (the page and the API) and the API's row.
    "sync:log_row_skip": {"pk": "log"},
    **{f"api:{n}": {"pk": "log"} for n in ("sync-log-detail", "sync-log-skip")},
    # Salesforce's Outbound Message receiver: no login; its token names the connection (a forged
    # one is 404; another org's message to a real one is 403 — tests/pull/test_outbound_receiver.py).
    "sync_pull:outbound": {"token": "@0-forged"},
    # The quote receiver likewise (tests/quotes/test_receiver.py); Synchronize now is per connection.
    "sync_quotes:receiver": {"token": "@0-forged"},
    "sync_quotes:synchronize_now": {"pk": "connection"},
    **{f"api:{n}": {"pk": "opportunity"} for n in ("opportunity-detail", "opportunity-comments")},
    **{f"api:opportunity-salesforce-{n}": {"pk": "opportunity"} for n in
       ("salesforce", "candidates", "relink", "skip", "unskip", "recreate")},
    **{f"api:{n}": {"pk": "analysis"} for n in ("analysis-detail", "analysis-complete", "analysis-requirements")},
    **{f"api:{n}": {"pk": "proposal"} for n in ("proposal-detail", "proposal-document", "proposal-generate")},
    **{f"api:{n}": {"pk": "quote"} for n in ("quote-detail", "quote-line-items", "quote-reorder-line-items", "quote-send-send")},
    "api:quote-line-item": {"pk": "quote", "line_pk": "quote_line"},
    "api:quote-custom-field-detail": {"pk": "custom_field"},
    "api:contact-detail": {"pk": "contact"},
    # Quote pages (issue 18).
    **{f"quotes:{n}": {"pk": "quote"} for n in ("detail", "save", "delete", "lines", "line_add", "line_preview",
                                                 "person_new", "person_field", "person_add")},
    **{f"quotes:{n}": {"pk": "quote", "line_pk": "quote_line"} for n in ("line_edit", "line_save", "line_remove")},
    "quotes:line_move": {"pk": "quote", "line_pk": "quote_line", "direction": "@up"},
    **{f"quotes:{n}": {"pk": "custom_field"} for n in ("custom_field_edit", "custom_field_delete")},
    "api:department-detail": {"pk": "department"},
    "api:comment-detail": {"pk": "comment"},
    **{f"api:{n}": {"pk": "connection"} for n in ("connection-health", "connection-detail", "connection-sync-runs", "connection-reconciliations",
                                                  "connection-partner-gone", "connection-clear-account-cache")},
    **{f"api:{n}": {"pk": "run"} for n in ("sync-run-detail", "sync-run-cancel")},
    **{f"api:{n}": {"pk": "conflict"} for n in ("sync-conflict-detail", "sync-conflict-resolve")},
    # Match Legacy Records (sync_engine.legacy): the page, its job and the API.
    **{f"sync_legacy:{n}": {"pk": "connection"} for n in ("review", "run", "decide")},
    **{f"appointments_config:{n}": {"pk": "connection"} for n in ("page", "check", "test", "improveit", "add_row", "sign_on")},
    "sync_legacy:job_progress": {"pk": "connection", "job_pk": "legacy_job"},
    "api:legacy-match-job-detail": {"pk": "legacy_job"},
    **{f"api:{n}": {"pk": "legacy_proposal"} for n in ("legacy-proposal-detail", "legacy-proposal-accept", "legacy-proposal-reject")},
    # The daily validation's drift reports (sync_engine.validation): the pages and the API.
    **{f"sync_validation:{n}": {"pk": "connection"} for n in ("reports", "validate")},
    "sync_validation:report": {"pk": "connection", "report_pk": "drift_report"},
    "api:drift-report-detail": {"pk": "drift_report"},
    # Settings › Integrations › Salesforce › Quotes (sync_engine.quotes): the page and Set up again.
    **{f"quote_settings:{n}": {"pk": "connection"} for n in ("edit", "automation")},
    # Appointments pulled from Salesforce (sync_engine.appointments): an appointment's page, a pull's progress.
    "sync_appointments:detail": {"pk": "appointment"},
    "sync_appointments:pull_progress": {"pk": "appointment_pull"},
    # Result appointment (docs/results.md): the card, submit, retry.
    **{f"sync_appointments_results:{n}": {"pk": "appointment"} for n in ("submit", "card")},
    "sync_appointments_results:retry": {"pk": "appointment", "send_pk": "result_send"},
    # Routing to Salesforce (sync_engine.appointments, docs/routing.md): the pages, the sign page and the API.
    **{f"sync_appointments_routing:{n}": {"pk": "connection"} for n in ("index", "files", "picklist")},
    "sync_appointments_routing:edit": {"pk": "connection", "kind": "@contract"},
    **{f"sync_appointments_routing:{n}": {"pk": "connection", "file_pk": "routed_file"} for n in ("retry", "download")},
    **{f"sync_appointments_routing:{n}": {"appointment_pk": "appointment"} for n in ("credit_app", "document_send")},
    **{f"api:{n}": {"pk": "routed_file"} for n in ("routed-file-detail", "routed-file-retry")},
    # Alerts (sync_engine.alerts, docs/alerts.md): Retry of a failed delivery, an incident in the API.
    "sync_alerts:retry": {"pk": "alert_delivery"},
    "api:alert-incident-detail": {"pk": "alert_incident"},
    # The Dashboard's CSV per panel: the parameter names a panel, not a record (a bad name is a 404;
    # the figures are the signed-in organization's, tests/dashboard/).
    "dashboard:panel_csv": {"panel": "@no-such-panel"},
}


def _objects(world, department_factory, opportunity_factory, status=ConnectionStatus.PENDING) -> dict[str, object]:
    records = make_records(world, department_factory, opportunity_factory)
    connection = SalesforceConnection.objects.create(tenant=world.tenant, name="Prod", login_url="https://login.salesforce.com",
                                                     status=status, is_default=True)
    settings_ensure_initial(connection=connection)
    run = SyncRun.objects.create(tenant=world.tenant, connection=connection, kind=SyncRunKind.FULL, status=SyncRunStatus.RUNNING)
    record_run = SyncRun.objects.create(tenant=world.tenant, connection=connection, kind=SyncRunKind.MANUAL_RECORD,
                                        status=SyncRunStatus.RUNNING, record_type="opportunity", record_id=records.opportunity.pk)
    log = SyncLog.objects.create(tenant=world.tenant, connection=connection, record_type="opportunity", record_id=records.opportunity.pk,
                           record_label=records.opportunity.title, operation="upsert", result="failed", error_code="X",
                           error_message=f"secret of {world.tenant.slug}")
    link = SyncLink.objects.create(tenant=world.tenant, connection=connection, record_type="opportunity",
                                   record_id=records.opportunity.pk, sobject="Opportunity", salesforce_id="006000000000009AAA")
    conflict = SyncConflict.objects.create(tenant=world.tenant, connection=connection, link=link, record_type="opportunity",
                                           record_id=records.opportunity.pk, sf_field="Description", cothon_field="description",
                                           cothon_value=f"secret of {world.tenant.slug}", salesforce_value="x")
    from sync_engine.legacy.models import LegacyMatchJob, LegacyMatchProposal

    legacy_job = LegacyMatchJob.objects.create(tenant=world.tenant, connection=connection, status="succeeded")
    legacy_proposal = LegacyMatchProposal.objects.create(
        tenant=world.tenant, connection=connection, job=legacy_job, opportunity=records.opportunity,
        salesforce_id="006000000000001AAA", sf_name=f"secret of {world.tenant.slug}", score=80, title_score=80)
    from sync_engine.validation.models import DriftReport

    drift_report = DriftReport.objects.create(tenant=world.tenant, connection=connection, status="complete",
                                              reason=f"secret of {world.tenant.slug}")
    from opportunities.models import Appointment
    from sync_engine.appointments.models import AppointmentPull, ResultSend, RoutedFile

    appointment = Appointment.objects.create(tenant=world.tenant, customer_name=f"secret of {world.tenant.slug}",
                                             assigned_to=world.member, connection_id=connection.pk)
    appointment_pull = AppointmentPull.objects.create(tenant=world.tenant, connection=connection, trigger="manual",
                                                      message=f"secret of {world.tenant.slug}")
    routed_file = RoutedFile.objects.create(tenant=world.tenant, appointment=appointment, connection=connection, kind="contract",
                                            file="routed/secret.pdf", file_name=f"secret of {world.tenant.slug}", status="failed")
    result_send = ResultSend.objects.create(tenant=world.tenant, appointment=appointment, connection=connection, sale=False,
                                            object_class="i360__Appointment__c", status="failed",
                                            error_message=f"secret of {world.tenant.slug}")
    from sync_engine.alerts.models import AlertDelivery, AlertIncident

    alert_incident = AlertIncident.objects.create(tenant=world.tenant, connection=connection, kind="quota_paused",
                                                  opened_at=run.created_at, detail=f"secret of {world.tenant.slug}")
    alert_delivery = AlertDelivery.objects.create(incident=alert_incident, event="opened", channel="email", status="failed",
                                                  next_attempt_at=run.created_at, last_error=f"secret of {world.tenant.slug}")
    return {"alert_incident": alert_incident, "alert_delivery": alert_delivery, "appointment": appointment, "appointment_pull": appointment_pull, "routed_file": routed_file, "result_send": result_send, "drift_report": drift_report, "opportunity": records.opportunity, "analysis": records.analysis, "proposal": records.proposal,
            "quote": records.quote, "department": records.department, "comment": records.comment,
            "quote_line": records.quote_line, "custom_field": records.custom_field, "contact": records.contact,
            "connection": connection, "run": run, "record_run": record_run, "conflict": conflict,
            "legacy_job": legacy_job, "legacy_proposal": legacy_proposal, "log": log}


def _url(name: str, objects: dict[str, object]) -> str:
    kwargs = {param: source[1:] if source.startswith("@") else objects[source].pk for param, source in ROUTE_IDS[name].items()}
    return reverse(name, kwargs=kwargs)


def test_every_route_with_an_id_is_listed_for_the_sweep():
    assert _routes_with_ids() == set(ROUTE_IDS)


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_every_route_answers_404_for_another_organizations_ids(role, alice, bob, web_as, api_as, department_factory,
                                                              opportunity_factory):
    make_records(alice, department_factory, opportunity_factory)  # alice has records of her own
    theirs = _objects(bob, department_factory, opportunity_factory)
    web = web_as(getattr(alice, role))
    api = api_as(getattr(alice, f"{role}_membership"))
    allowed = {404, 403} if role != "admin" else {404}
    for name in sorted(ROUTE_IDS):
        url = _url(name, theirs)
        client = api if name.startswith("api:") else web
        answers = {}
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            answers[method] = response.status_code
            assert f"secret of {bob.tenant.slug}".encode() not in response.content, (name, method)
            assert bob.tenant.name.encode() not in response.content, (name, method)
        # A method the route does not offer may answer 405 (before any lookup); the ones it offers
        # answer 404 (403 where the role is refused first).
        assert set(answers.values()) <= allowed | {405} and set(answers.values()) & allowed, (name, answers)


# --- roles --------------------------------------------------------------------------------------

ADMIN_ONLY = sorted(n for n in ROUTE_IDS if n.startswith("integrations:")) + [
    "integrations:index", "integrations:connect", "integrations:oauth_callback",
    "sync:sync_now", "sync:reconcile", "sync:run_list", "sync:run_progress", "sync:run_cancel", "sync:partner_gone",
    "quote_settings:edit", "quote_settings:automation",
    "api:connection-list", "api:connection-detail", "api:connection-sync-runs", "api:connection-reconciliations",
    "api:sync-run-cancel", "api:connection-partner-gone", "sync_quotes:synchronize_now", "api:connection-clear-account-cache",
    "sync_alerts:settings", "sync_alerts:rotate_secret", "sync_alerts:test", "sync_alerts:retry",
    "api:alert-settings-list", "api:alert-settings-rotate-secret",
    "sync:logs_retry", "sync:logs_skip", "sync:log_row_skip",
    "api:sync-log-retry-failed", "api:sync-log-skip-failed", "api:sync-log-skip",
]
# The sync-log API's reads, the runs list and the conflict counts: every role.
SYNC_LOG_API_READS = ["api:sync-log-list", "api:sync-log-detail", "api:sync-log-groups", "api:sync-run-list",
                      "api:sync-conflict-counts"]
EVERY_ROLE = ["sync:index", "sync:logs", "sync:logs_csv", "sync:usage", "sync:health", "sync:record_history",
              "sync:record_run_status", "api:sync-run-detail", "api:connection-health", "api:connection-health-list",
              *SYNC_LOG_API_READS]


def test_the_role_lists_cover_every_settings_integrations_and_sync_route():
    names = {n for n, _ in _routes() if n.split(":")[0] in ("integrations", "sync", "quote_settings", "sync_alerts")}
    names |= {"api:connection-list", "api:connection-detail", "api:connection-sync-runs", "api:sync-run-detail",
              "api:connection-health", "api:connection-health-list",
              "api:sync-run-cancel", "api:connection-partner-gone", "api:connection-reconciliations", "api:connection-clear-account-cache",
              "sync_quotes:synchronize_now", "api:alert-settings-list", "api:alert-settings-rotate-secret",
              "api:sync-log-retry-failed", "api:sync-log-skip-failed", "api:sync-log-skip", *SYNC_LOG_API_READS}
    assert set(ADMIN_ONLY) | set(EVERY_ROLE) == names and not set(ADMIN_ONLY) & set(EVERY_ROLE)


def _own_url(name: str, objects: dict[str, object]) -> str:
    return _url(name, objects) if name in ROUTE_IDS else reverse(name)


@pytest.fixture
def own(alice, department_factory, opportunity_factory):
    # Pending: no page of the sweep calls Salesforce.
    return _objects(alice, department_factory, opportunity_factory)


@pytest.mark.parametrize("role", ["member", "viewer"])
@pytest.mark.parametrize("name", ADMIN_ONLY)
def test_settings_integrations_and_sync_operations_are_403_below_admin(name, role, alice, own, web_as, api_as):
    client = api_as(getattr(alice, f"{role}_membership")) if name.startswith("api:") else web_as(getattr(alice, role))
    url = _own_url(name, own)
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        assert response.status_code in (403, 405), (name, method, response.status_code)
    if not name.startswith("api:") and client.get(url).status_code == 403:
        assert "You don’t have access to this" in client.get(url).content.decode()
    own["connection"].refresh_from_db()
    assert own["connection"].name == "Prod" and own["connection"].status == ConnectionStatus.PENDING


@pytest.mark.parametrize("name", ADMIN_ONLY)
def test_admins_reach_every_settings_integrations_and_sync_route(name, alice, own, web_as, api_as):
    client = api_as(alice.admin_membership) if name.startswith("api:") else web_as(alice.admin)
    status = client.get(_own_url(name, own)).status_code
    # 405: a POST-only route (its role check passed first); 400: the OAuth callback without a sign-in.
    assert status in ((200, 302, 405) if name != "integrations:oauth_callback" else (400,)), (name, status)


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
@pytest.mark.parametrize("name", EVERY_ROLE)
def test_every_role_reads_the_sync_overview_logs_usage_and_record_history(name, role, alice, own, web_as, api_as):
    client = api_as(getattr(alice, f"{role}_membership")) if name.startswith("api:") else web_as(getattr(alice, role))
    assert client.get(_own_url(name, own)).status_code == 200, name


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_below_admin_no_page_links_to_settings_integrations(role, alice, own, web_as):
    client = web_as(getattr(alice, role))
    pages = [reverse("opportunities:detail", args=[own["opportunity"].pk]), reverse("opportunities:list"), reverse("sync:index"),
             reverse("sync:logs"), reverse("sync:usage", args=[own["connection"].pk])]
    for page in pages:
        html = client.get(page).content.decode()
        assert "/settings/integrations/" not in html, page
        assert reverse("sync:sync_now", args=[own["connection"].pk]) not in html, page


def test_an_admin_sees_the_links(alice, own, web_as):
    html = web_as(alice.admin).get(reverse("opportunities:detail", args=[own["opportunity"].pk])).content.decode()
    assert reverse("integrations:index") in html
    assert reverse("integrations:dry_run", args=[own["connection"].pk]) in html


@pytest.mark.parametrize("record_type", ["department", "opportunity", "analysis", "requirement", "comment", "proposal", "quote"])
def test_a_record_history_is_404_for_another_organizations_record_of_any_type(record_type, alice, bob, web_as,
                                                                            department_factory, opportunity_factory):
    theirs = make_records(bob, department_factory, opportunity_factory)
    mine = make_records(alice, department_factory, opportunity_factory)
    client = web_as(alice.viewer)
    assert client.get(reverse("sync:record_history", args=[record_type, getattr(theirs, record_type).pk])).status_code == 404
    assert client.get(reverse("sync:record_history", args=[record_type, getattr(mine, record_type).pk])).status_code == 200
    assert client.get(reverse("sync:record_history", args=["nonsense", getattr(mine, record_type).pk])).status_code == 404
    assert client.get(reverse("sync:record_history", args=[record_type, 99999999999999999999])).status_code == 404
