"""The Salesforce pages against the local emulator: the OAuth round trip through the views,
health after connecting, settings validated against the org's describe (stages from the org,
suggestions for a sandbox), user pre-fill, custom fields, refresh, disconnect and reconnect."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.urls import reverse

from integrations import connections as svc
from integrations.models import ConnectionStatus, Environment, SalesforceConnection
from tests.web.test_integrations_pages import _settings_post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def loopback_oauth(monkeypatch, settings, client):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    settings.DEBUG = True  # the connect form offers the per-connection CA bundle (the emulator's)
    # The emulator accepts loopback redirect URIs only (like `make run`'s 127.0.0.1:8000).
    client.defaults["HTTP_HOST"] = "127.0.0.1:8000"


def _emulator_login(emulator, authorize_url: str, *, action: str = "allow") -> str:
    """What a person does on the emulator's login page; returns the callback URL."""
    browser = requests.Session()
    browser.trust_env = False
    assert browser.get(authorize_url).status_code == 200
    params = {k: v[0] for k, v in parse_qs(urlparse(authorize_url).query).items()}
    admin = emulator.demo["admin"]
    response = browser.post(f"{emulator.http_url}/services/oauth2/authorize",
                            data=dict(params, username=admin["username"], pw=admin["password"], action=action), allow_redirects=False)
    assert response.status_code == 302, response.text[:300]
    return response.headers["Location"]


def _connect_form(emulator, **fields):
    creds = emulator.demo
    data = {"name": "Demo org", "environment": "custom", "login_url": emulator.http_url, "auth_method": "oauth_web",
            "client_id": creds["client_id"], "client_secret": creds["client_secret"], "ca_bundle_path": emulator.ca_bundle}
    data.update(fields)
    return data


def test_oauth_round_trip_through_the_pages_connects_and_shows_health(web_as, alice, emulator_reset):
    client = web_as(alice.admin)
    response = client.post(reverse("integrations:connect"), _connect_form(emulator_reset))
    assert response.status_code == 302 and response["Location"].startswith(emulator_reset.http_url)
    callback = urlparse(_emulator_login(emulator_reset, response["Location"]))
    assert callback.path == reverse("integrations:oauth_callback")
    response = client.get(f"{callback.path}?{callback.query}")
    connection = SalesforceConnection.objects.get(tenant=alice.tenant)
    assert response.status_code == 302 and response["Location"] == reverse("integrations:connection", args=[connection.pk])
    assert connection.status == ConnectionStatus.CONNECTED
    html = client.get(response["Location"]).content.decode()
    assert connection.org_id in html and emulator_reset.demo["admin"]["username"] in html
    assert "of 5,000</span> calls" in html and "Connected “Demo org” to org" in html
    # Disconnect, then reconnect the same connection through the OAuth page again.
    client.post(reverse("integrations:disconnect", args=[connection.pk]))
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    response = client.post(reverse("integrations:reconnect", args=[connection.pk]))
    callback = urlparse(_emulator_login(emulator_reset, response["Location"]))
    client.get(f"{callback.path}?{callback.query}")
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED
    assert SalesforceConnection.objects.filter(tenant=alice.tenant).count() == 1


def test_deny_on_the_salesforce_page_is_shown_on_the_connection_page(web_as, alice, emulator_reset):
    client = web_as(alice.admin)
    response = client.post(reverse("integrations:connect"), _connect_form(emulator_reset))
    callback = urlparse(_emulator_login(emulator_reset, response["Location"], action="deny"))
    response = client.get(f"{callback.path}?{callback.query}", follow=True)
    html = response.content.decode()
    assert "access_denied" in html and "Salesforce did not connect" in html
    assert SalesforceConnection.objects.get().status == ConnectionStatus.PENDING


def test_a_wrong_password_leaves_nothing_behind(web_as, alice, emulator_reset):
    data = _connect_form(emulator_reset, auth_method="password", username=emulator_reset.demo["username"], password="wrong")
    response = web_as(alice.admin).post(reverse("integrations:connect"), data)
    html = response.content.decode()
    assert "Salesforce refused the sign-in; nothing was saved." in html
    assert "INVALID_LOGIN" in html or "invalid_grant" in html
    assert not SalesforceConnection.objects.exists()


def test_username_password_and_token_connect_from_the_form(web_as, alice, emulator_reset):
    creds = emulator_reset.demo
    data = _connect_form(emulator_reset, auth_method="password", username=creds["username"], password=creds["password"],
                         security_token=creds["security_token"])
    response = web_as(alice.admin).post(reverse("integrations:connect"), data)
    assert response.status_code == 302
    connection = SalesforceConnection.objects.get()
    assert connection.status == ConnectionStatus.CONNECTED and connection.auth_method == "password"


@pytest.fixture
def connected(alice, emulator_reset):
    creds = emulator_reset.demo
    connection = svc.connection_create(tenant=alice.tenant, name="Demo org", environment=Environment.CUSTOM,
                                       login_url=emulator_reset.http_url, client_id=creds["client_id"],
                                       client_secret=creds["client_secret"], ca_bundle_path=emulator_reset.ca_bundle, actor=alice.admin)
    return svc.connection_connect_client_credentials(connection=connection, actor=alice.admin)


def test_stages_come_from_the_org_and_an_unknown_stage_is_refused_inline(web_as, alice, connected):
    client = web_as(alice.admin)
    html = client.get(reverse("integrations:settings", args=[connected.pk])).content.decode()
    stage_select = html.split('id="s-stage-mapping-won"')[1].split("</select>")[0]
    assert "Closed Won" in stage_select and "Negotiation" in stage_select
    assert "Legal Review" not in stage_select  # not a demo-org stage
    assert "Account ID — AccountId (reference)" in html  # org fields from describe: the label, the API name beside it
    response = client.post(reverse("integrations:settings", args=[connected.pk]),
                           _settings_post(connected, **{"stage_mapping.won": "Signed"}))
    assert response.status_code == 400
    errors = response.content.decode().split('id="s-stage-mapping-won-errors"')[1].split("</ul>")[0]
    assert "“Signed” is not a value of StageName in this org" in errors
    assert connected.settings_versions.count() == 1


def test_import_stages_are_the_orgs_stages_and_another_is_refused(web_as, alice, connected):
    client = web_as(alice.admin)
    url = reverse("integrations:settings", args=[connected.pk])
    html = client.get(url).content.decode()
    stages = html.split('id="s-import-filter-stages"')[1].split("</div>")[0]
    assert 'type="checkbox" name="import_filter.stages" value="Closed Won"' in stages
    response = client.post(url, _settings_post(connected, **{"import_filter.stages": ["Prospecting", "Signed"]}))
    assert response.status_code == 400
    errors = response.content.decode().split('id="s-import-filter-stages-errors"')[1].split("</ul>")[0]
    assert "“Signed” is not a stage of this org" in errors
    assert connected.settings_versions.count() == 1
    assert client.post(url, _settings_post(connected, **{"import_filter.stages": ["Prospecting", "Qualification"]})).status_code == 302
    assert connected.settings_versions.first().data["import_filter"]["stages"] == ["Prospecting", "Qualification"]


def test_an_unknown_org_field_is_refused_next_to_its_row(web_as, alice, connected):
    response = web_as(alice.admin).post(reverse("integrations:settings", args=[connected.pk]),
                                        _settings_post(connected, **{"opportunity_mappings[9].sf_field": "Nowhere__c"}))
    assert response.status_code == 400
    errors = response.content.decode().split('id="s-opportunity-mappings-9-sf-field-errors"')[1].split("</ul>")[0]
    assert "Nowhere__c does not exist in the org" in errors
    assert connected.settings_versions.count() == 1


def test_a_sandbox_with_other_stages_gets_suggestions_to_confirm(web_as, bob, emulator_reset):
    creds = emulator_reset.sandbox
    connection = svc.connection_create(tenant=bob.tenant, name="UAT", environment=Environment.CUSTOM, login_url=emulator_reset.http_url,
                                       client_id=creds["client_id"], client_secret=creds["client_secret"],
                                       ca_bundle_path=emulator_reset.ca_bundle, actor=bob.admin)
    svc.connection_connect_client_credentials(connection=connection, actor=bob.admin)
    client = web_as(bob.admin)
    html = client.get(reverse("integrations:settings", args=[connection.pk])).content.decode()
    assert "This org's stages differ from the saved stage mapping." in html and "Suggested" in html
    assert connection.settings_versions.count() == 1
    pursuing = html.split('id="s-stage-mapping-pursuing"')[1].split("</select>")[0]
    assert 'value="Proposal/Price Quote" selected' in pursuing
    post = _settings_post(connection, **{"stage_mapping.pursuing": "Proposal/Price Quote", "stage_mapping.submitted": "Negotiation/Review"})
    response = client.post(reverse("integrations:settings", args=[connection.pk]), post)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert connection.settings_versions.first().data["stage_mapping"]["pursuing"] == "Proposal/Price Quote"


def test_refresh_prefill_and_custom_fields_against_the_org(web_as, alice, connected):
    client = web_as(alice.admin)
    response = client.post(reverse("integrations:refresh", args=[connected.pk]), follow=True)
    assert "Connection refreshed" in response.content.decode()
    response = client.post(reverse("integrations:user_links_prefill", args=[connected.pk]), follow=True)
    assert "by e-mail" in response.content.decode() or "No new matches" in response.content.decode()
    html = client.get(reverse("integrations:custom_fields", args=[connected.pk])).content.decode()
    assert 'id="install-plan"' in html
    response = client.post(reverse("integrations:custom_fields", args=[connected.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    # Either everything was there, or the result lists what was created and what to create by hand.
    assert 'id="install-result"' in html or "Everything is installed" in html


def test_a_dry_run_against_the_org_shows_the_cut_title_and_full_title(web_as, alice, connected, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, title="Professional services " * 10)
    html = web_as(alice.admin).get(reverse("integrations:dry_run", args=[connected.pk]), {"opportunity": opportunity.pk}).content.decode()
    assert "Cothon_Full_Title__c" in html and "…" in html
    assert "not connected" not in html
    assert 'data-testid="import-rule"' in html and "not imported (the import setting is off)" in html


def test_field_labels_from_the_describe_stand_beside_the_api_names(web_as, alice, connected, opportunity_factory):
    client = web_as(alice.admin)
    html = client.get(reverse("integrations:settings", args=[connected.pk])).content.decode()
    # A locked row: the org's label, the API name beside it.
    assert 'Cothon Reference <span class="mono cell-sub">Cothon_Ref__c</span>' in html
    assert '>Name <span class="mono cell-sub">Name</span>' not in html  # a label that is the API name is said once
    opportunity = opportunity_factory(alice.tenant)
    html = client.get(reverse("integrations:dry_run", args=[connected.pk]), {"opportunity": opportunity.pk}).content.decode()
    assert 'Close Date <span class="mono cell-sub">CloseDate</span>' in html
    assert 'Full Title <span class="mono cell-sub">Cothon_Full_Title__c</span>' in html
