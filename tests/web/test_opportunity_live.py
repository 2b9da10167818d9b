"""The opportunity page keeps itself current: its poll endpoint answers 204 while the record is
unchanged and the fresh field areas (out of band) once it changed; the edit page never polls."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opportunities.models import Opportunity
from opportunities.selectors import version_of

pytestmark = pytest.mark.django_db


def _live(client, opportunity, version=None):
    url = reverse("opportunities:live", args=[opportunity.pk])
    return client.get(url, {"version": version} if version is not None else {}, HTTP_HX_REQUEST="true")


def test_the_detail_page_polls_its_version_every_three_seconds(web_as, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    html = web_as(alice.viewer).get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    opportunity.refresh_from_db()
    version = version_of(opportunity.updated_at)
    live_url = reverse("opportunities:live", args=[opportunity.pk])
    assert f'hx-get="{live_url}?version={version}"' in html
    assert 'hx-trigger="every 3s"' in html and "data-poll-when-visible" in html
    for area in ("opportunity-header", "opportunity-stats", "opportunity-details", "opportunity-record",
                 "opportunity-salesforce-extra"):
        assert f'id="{area}"' in html


def test_the_edit_page_does_not_poll(web_as, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    html = web_as(alice.member).get(reverse("opportunities:edit", args=[opportunity.pk])).content.decode()
    assert "opportunity-live" not in html and "every 3s" not in html


def test_an_unchanged_record_answers_204_in_one_query_of_its_own(web_as, alice, opportunity_factory,
                                                                  django_assert_max_num_queries):
    opportunity = opportunity_factory(alice.tenant)
    version = version_of(Opportunity.objects.get(pk=opportunity.pk).updated_at)
    client = web_as(alice.viewer)
    _live(client, opportunity, version)  # the session and membership are warm after this
    # Session, user, membership (every tenant page) and the version itself.
    with django_assert_max_num_queries(4) as queries:
        response = _live(client, opportunity, version)
    assert response.status_code == 204 and response.content == b""
    assert response["X-Record-Version"] == version
    assert sum("updated_at" in q["sql"] and "opportunities_opportunity" in q["sql"] for q in queries.captured_queries) == 1


def test_a_changed_record_answers_the_new_values_out_of_band(web_as, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, description="Before")
    old = version_of(Opportunity.objects.get(pk=opportunity.pk).updated_at)
    Opportunity.objects.filter(pk=opportunity.pk).update(description="After the change", status="pursuing")
    from django.utils import timezone
    Opportunity.objects.filter(pk=opportunity.pk).update(updated_at=timezone.now())
    response = _live(web_as(alice.viewer), opportunity, old)
    assert response.status_code == 200
    html = response.content.decode()
    new = version_of(Opportunity.objects.get(pk=opportunity.pk).updated_at)
    assert response["X-Record-Version"] == new != old
    assert f"?version={new}" in html
    assert "After the change" in html and "the page now shows the new values" in html
    assert "This record was updated" in html  # no pull wrote it
    for area in ("opportunity-header", "opportunity-stats", "opportunity-details", "opportunity-record",
                 "opportunity-salesforce-extra"):
        assert f'id="{area}"' in html
    assert html.count('hx-swap-oob="true"') == 5
    assert "<form" not in html  # the comment and analysis forms are never swapped


def test_a_change_written_by_a_pull_says_it_came_from_salesforce(web_as, alice, opportunity_factory):
    from django.utils import timezone

    from integrations.models import SalesforceConnection
    from sync_engine.models import SyncLog

    opportunity = opportunity_factory(alice.tenant)
    old = version_of(Opportunity.objects.get(pk=opportunity.pk).updated_at)
    connection = SalesforceConnection.objects.create(tenant=alice.tenant, name="Org", login_url="https://login.salesforce.com",
                                                     instance_url="https://alice.my.salesforce.com", status="connected")
    Opportunity.objects.filter(pk=opportunity.pk).update(description="From the org", updated_at=timezone.now())
    SyncLog.objects.create(tenant=alice.tenant, connection=connection, record_type="opportunity", record_id=opportunity.pk,
                           direction="pull", operation="update", result="success")
    html = _live(web_as(alice.viewer), opportunity, old).content.decode()
    assert "Updated from Salesforce" in html and "From the org" in html


def test_another_tenants_record_is_404(web_as, alice, bob, opportunity_factory):
    theirs = opportunity_factory(alice.tenant)
    version = version_of(Opportunity.objects.get(pk=theirs.pk).updated_at)
    assert _live(web_as(bob.admin), theirs, version).status_code == 404
    assert _live(web_as(bob.admin), theirs, "1").status_code == 404


def test_an_unknown_record_is_404(web_as, alice):
    response = web_as(alice.viewer).get(reverse("opportunities:live", args=[987654321]), {"version": "1"})
    assert response.status_code == 404
    assert web_as(alice.viewer).get("/opportunities/not-a-number/live/").status_code == 404


@pytest.mark.parametrize("version", ["abc", "-5", "1.5", "12 34"])
def test_a_version_that_is_not_a_number_is_400(web_as, alice, opportunity_factory, version):
    opportunity = opportunity_factory(alice.tenant)
    assert _live(web_as(alice.viewer), opportunity, version).status_code == 400


def test_the_poll_needs_a_login(client, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    response = client.get(reverse("opportunities:live", args=[opportunity.pk]), {"version": "1"})
    assert response.status_code in (302, 401, 403)
