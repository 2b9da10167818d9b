"""The Salesforce panel's Re-link / Skip / Re-create controls and the sync page's list of
records deleted in Salesforce (bulk Skip / Re-create / Unskip): roles, other tenants, bad input."""

from __future__ import annotations

from django.urls import reverse

from sync_engine.models import LinkStatus, SyncLink, SyncLog
from tests.conftest import salesforce_opportunity


def _detail(client, opportunity) -> str:
    response = client.get(reverse("opportunities:detail", args=[opportunity.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_panel_of_a_deleted_record_offers_relink_skip_and_recreate_to_members(alice, web_as, deleted_in_salesforce):
    opportunity, _ = deleted_in_salesforce
    html = _detail(web_as(alice.member), opportunity)
    assert 'data-testid="partner-deleted"' in html and "Re-link to another Salesforce opportunity" in html
    assert "Re-create in Salesforce" in html and "Skip this record" in html
    assert "Re-link it to another Salesforce record, re-create it in Salesforce, or skip it." in html
    assert 'data-testid="partner-deleted"' not in _detail(web_as(alice.viewer), opportunity)


def test_search_lists_candidates_with_a_link_button_and_relink_pushes(alice, web_as, emulator_reset, deleted_in_salesforce):
    opportunity, _ = deleted_in_salesforce
    target = salesforce_opportunity(emulator_reset)
    client = web_as(alice.member)
    url = reverse("opportunities:salesforce_search", args=[opportunity.pk])
    html = client.get(url, {"title": "Ottawa region"}).content.decode()
    assert "Bridge inspection, Ottawa region" in html and f'value="{target}"' in html and "LEGACY-77" in html
    bad = client.get(url, {"close_date": "14/05/2031"})
    assert bad.status_code == 400 and "is not a date" in bad.content.decode()
    assert client.get(url, {}).status_code == 400
    response = client.post(reverse("opportunities:salesforce_relink", args=[opportunity.pk]), {"salesforce_id": target}, follow=True)
    html = response.content.decode()
    assert f"Re-linked to {target}" in html
    link = SyncLink.objects.get(record_id=opportunity.pk)
    assert link.salesforce_id == target and link.status == LinkStatus.PENDING


def test_relink_with_a_wrong_id_says_why_and_changes_nothing(alice, web_as, deleted_in_salesforce):
    opportunity, dead = deleted_in_salesforce
    response = web_as(alice.member).post(reverse("opportunities:salesforce_relink", args=[opportunity.pk]),
                                         {"salesforce_id": "001000000000001AAA"}, follow=True)
    assert "is not a Opportunity record" in response.content.decode() or "ids start with 006" in response.content.decode()
    assert SyncLink.objects.get(record_id=opportunity.pk).salesforce_id == dead


def test_skip_shows_who_and_when_and_unskip_undoes_it(alice, web_as, deleted_in_salesforce):
    opportunity, _ = deleted_in_salesforce
    client = web_as(alice.member)
    client.post(reverse("opportunities:salesforce_skip", args=[opportunity.pk]))
    html = _detail(client, opportunity)
    assert f"Skipped by {alice.member.get_username()} on " in html and 'data-testid="partner-skipped"' in html
    assert f"by {alice.member.get_username()}</time>" in html  # the panel's history names who did it
    assert 'data-sync-state="skipped"' in html
    client.post(reverse("opportunities:salesforce_unskip", args=[opportunity.pk]))
    assert SyncLink.objects.get(record_id=opportunity.pk).status == LinkStatus.DELETED_IN_SALESFORCE
    assert list(SyncLog.objects.filter(actor=alice.member).values_list("operation", flat=True).order_by("id")) == ["skip", "unskip"]


def test_viewers_cannot_act_and_another_tenant_gets_404(alice, bob, web_as, deleted_in_salesforce, connected):
    opportunity, dead = deleted_in_salesforce
    names = ("salesforce_relink", "salesforce_skip", "salesforce_unskip", "salesforce_recreate")
    viewer = web_as(alice.viewer)
    for name in names:
        assert viewer.post(reverse(f"opportunities:{name}", args=[opportunity.pk]), {"salesforce_id": dead}).status_code == 403
    outsider = web_as(bob.admin)
    for name in names:
        assert outsider.post(reverse(f"opportunities:{name}", args=[opportunity.pk]), {"salesforce_id": dead}).status_code == 404
    assert outsider.get(reverse("opportunities:salesforce_search", args=[opportunity.pk]), {"title": "x"}).status_code == 404
    assert outsider.get(reverse("sync:partner_gone", args=[connected.pk])).status_code == 404
    assert outsider.post(reverse("sync:partner_gone", args=[connected.pk]),
                         {"action": "skip", "opportunity": [opportunity.pk]}).status_code == 404
    assert SyncLink.objects.get(record_id=opportunity.pk).status == LinkStatus.DELETED_IN_SALESFORCE


def test_the_sync_page_lists_deleted_records_and_skips_or_recreates_them_in_bulk(alice, web_as, connected, deleted_in_salesforce):
    opportunity, dead = deleted_in_salesforce
    assert web_as(alice.member).get(reverse("sync:partner_gone", args=[connected.pk])).status_code == 403
    admin = web_as(alice.admin)
    index = admin.get(reverse("sync:index")).content.decode()
    assert "1 deleted in Salesforce" in index and reverse("sync:partner_gone", args=[connected.pk]) in index
    page = admin.get(reverse("sync:partner_gone", args=[connected.pk])).content.decode()
    assert "Bridge inspection services" in page and dead in page
    response = admin.post(reverse("sync:partner_gone", args=[connected.pk]), {"action": "skip", "opportunity": [opportunity.pk]},
                          follow=True)
    assert "Skipped 1 record." in response.content.decode()
    assert SyncLink.objects.get(record_id=opportunity.pk).status == LinkStatus.SKIPPED
    admin.post(reverse("sync:partner_gone", args=[connected.pk]), {"action": "unskip", "opportunity": [opportunity.pk]})
    response = admin.post(reverse("sync:partner_gone", args=[connected.pk]), {"action": "recreate", "opportunity": [opportunity.pk]},
                          follow=True)
    assert "Re-creating 1 record." in response.content.decode()
    assert SyncLink.objects.get(record_id=opportunity.pk).salesforce_id == ""
    bad = admin.post(reverse("sync:partner_gone", args=[connected.pk]), {"action": "explode", "opportunity": [opportunity.pk]},
                     follow=True)
    assert "Unknown action" in bad.content.decode()


def test_a_deleted_record_has_no_open_in_salesforce_button(alice, web_as, deleted_in_salesforce):
    html = _detail(web_as(alice.member), deleted_in_salesforce[0])
    assert "Open in Salesforce" not in html and deleted_in_salesforce[1] in html  # the dead id is still shown
