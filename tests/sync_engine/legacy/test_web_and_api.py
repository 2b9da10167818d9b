"""The review page and the API: admins only, another tenant's ids are 404, bad input is refused
with a message, and both decide through the same services."""

from __future__ import annotations

import pytest
from django.db import transaction

from sync_engine.legacy import services
from sync_engine.legacy.models import LegacyMatchJob, LegacyMatchProposal, ProposalStatus
from sync_engine.models import SyncLink


@pytest.fixture
def matched(legacy_world):
    with transaction.atomic():
        job = services.legacy_match_start(connection=legacy_world["connection"])
    services.legacy_match_run(job_id=job.pk)
    legacy_world["job"] = job
    return legacy_world


def review_url(connection_id: int) -> str:
    return f"/settings/integrations/salesforce/{connection_id}/legacy/"


def test_the_review_page_lists_proposals_best_first_with_their_evidence(matched, alice, web_as):
    response = web_as(alice.admin).get(review_url(matched["connection"].pk))
    assert response.status_code == 200
    html = response.content.decode()
    proposals = list(LegacyMatchProposal.objects.order_by("-score"))
    positions = [html.index(f'id="proposal-{p.pk}"') for p in proposals]
    assert positions == sorted(positions)
    assert "Titles" in html and "is within Cothon" in html and "has the department" in html
    assert "Accept selected" in html and 'hx-get' not in html.split('id="legacy-job"')[1].split(">")[0]  # finished: no polling


def test_filters_narrow_the_list_and_a_bad_minimum_score_says_so(matched, alice, web_as):
    client = web_as(alice.admin)
    url = review_url(matched["connection"].pk)
    html = client.get(url, {"q": "Parks"}).content.decode()
    assert "Indigenous languages translation" in html and "Coast Guard radar" not in html
    html = client.get(url, {"min_score": "101"}).content.decode()
    assert "Minimum score must be a number from 0 to 100" in html
    html = client.get(url, {"status": "rejected"}).content.decode()
    assert "Nothing here." in html


def test_accept_and_reject_from_the_page(matched, alice, web_as):
    client = web_as(alice.admin)
    url = review_url(matched["connection"].pk)
    accept = LegacyMatchProposal.objects.get(salesforce_id=matched["sf"]["translation"], rank=1)
    response = client.post(f"{url}decide/", {"accept_one": accept.pk}, follow=True)
    assert "Accepted 1" in response.content.decode()
    assert SyncLink.objects.filter(record_id=accept.opportunity_id, salesforce_id=matched["sf"]["translation"]).exists()
    decoy = LegacyMatchProposal.objects.get(salesforce_id=matched["sf"]["radar_decoy"])
    wildfire = LegacyMatchProposal.objects.get(salesforce_id=matched["sf"]["wildfire"], rank=1)
    response = client.post(f"{url}decide/", {"action": "reject", "selected": [decoy.pk, wildfire.pk]}, follow=True)
    assert "Rejected 2" in response.content.decode()
    assert set(LegacyMatchProposal.objects.filter(status=ProposalStatus.REJECTED).values_list("pk", flat=True)) == {decoy.pk, wildfire.pk}


def test_bad_decisions_change_nothing(matched, alice, web_as):
    client = web_as(alice.admin)
    url = f"{review_url(matched['connection'].pk)}decide/"
    assert "Select at least one" in client.post(url, {"action": "accept"}, follow=True).content.decode()
    assert "not understood" in client.post(url, {"action": "accept", "selected": ["x"]}, follow=True).content.decode()
    assert "Choose Accept selected" in client.post(url, {"action": "delete", "selected": ["1"]}, follow=True).content.decode()
    assert client.get(url).status_code == 405
    assert LegacyMatchProposal.objects.filter(status=ProposalStatus.OPEN).count() == LegacyMatchProposal.objects.count()


def test_the_run_button_starts_a_job_and_its_progress_is_polled(matched, alice, web_as, django_capture_on_commit_callbacks):
    client = web_as(alice.admin)
    url = review_url(matched["connection"].pk)
    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = client.post(f"{url}run/")
    assert response.status_code == 302 and len(sent) == 1
    job = LegacyMatchJob.objects.latest("id")
    assert job.status == "queued" and job.pk != matched["job"].pk
    fragment = client.get(f"{url}jobs/{job.pk}/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and 'hx-trigger="every 1s"' in fragment.content.decode()
    services.legacy_match_run(job_id=job.pk)
    done = client.get(f"{url}jobs/{job.pk}/", HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"


def test_members_and_viewers_cannot_use_the_page(matched, alice, web_as):
    url = review_url(matched["connection"].pk)
    for user in (alice.member, alice.viewer):
        client = web_as(user)
        assert client.get(url).status_code == 403
        assert client.post(f"{url}run/").status_code == 403
        assert client.post(f"{url}decide/", {"action": "accept", "selected": [1]}).status_code == 403


def test_another_tenant_gets_404_everywhere(matched, bob, web_as):
    client = web_as(bob.admin)
    url = review_url(matched["connection"].pk)
    proposal = LegacyMatchProposal.objects.first()
    assert client.get(url).status_code == 404
    assert client.post(f"{url}run/").status_code == 404
    assert client.get(f"{url}jobs/{matched['job'].pk}/").status_code == 404
    assert client.post(f"{url}decide/", {"accept_one": proposal.pk}).status_code == 404
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.OPEN


# --- API -------------------------------------------------------------------------------------

def test_the_api_lists_proposals_best_first_and_accepts_and_rejects(matched, alice, api_as):
    api = api_as(alice.admin_membership)
    listed = api.get("/api/v1/legacy-proposals/", {"connection": matched["connection"].pk})
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert set(rows[0]["evidence"]) == {"title", "date", "amount", "account"}
    translation = next(r for r in rows if r["salesforce_id"] == matched["sf"]["translation"])
    accepted = api.post(f"/api/v1/legacy-proposals/{translation['id']}/accept/")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert api.post(f"/api/v1/legacy-proposals/{translation['id']}/reject/").status_code == 409
    decoy = next(r for r in rows if r["salesforce_id"] == matched["sf"]["radar_decoy"])
    radar = next(r for r in rows if r["salesforce_id"] == matched["sf"]["radar"])
    bulk = api.post("/api/v1/legacy-proposals/decide/", {"ids": [radar["id"], decoy["id"]], "action": "accept"}, format="json")
    assert bulk.status_code == 200
    assert [r["id"] for r in bulk.json()["done"]] == [radar["id"]] and str(decoy["id"]) in bulk.json()["errors"]


def test_the_api_starts_and_shows_a_job(matched, alice, api_as, django_capture_on_commit_callbacks):
    api = api_as(alice.admin_membership)
    with django_capture_on_commit_callbacks(execute=False):
        started = api.post("/api/v1/legacy-match-jobs/", {"connection": matched["connection"].pk}, format="json")
    assert started.status_code == 201 and started.json()["status"] == "queued"
    with django_capture_on_commit_callbacks(execute=False):
        again = api.post("/api/v1/legacy-match-jobs/", {"connection": matched["connection"].pk}, format="json")
    assert again.status_code == 200 and again.json()["id"] == started.json()["id"]
    shown = api.get(f"/api/v1/legacy-match-jobs/{matched['job'].pk}/")
    assert shown.status_code == 200 and shown.json()["status"] == "succeeded" and shown.json()["percent"] == 100


def test_the_api_refuses_bad_input(matched, alice, api_as):
    api = api_as(alice.admin_membership)
    assert api.get("/api/v1/legacy-proposals/", {"status": "maybe"}).status_code == 400
    assert api.get("/api/v1/legacy-proposals/", {"min_score": "-3"}).status_code == 400
    assert api.post("/api/v1/legacy-proposals/decide/", {"ids": [], "action": "accept"}, format="json").status_code == 400
    assert api.post("/api/v1/legacy-proposals/decide/", {"ids": [1], "action": "merge"}, format="json").status_code == 400
    assert api.post("/api/v1/legacy-match-jobs/", {"connection": "abc"}, format="json").status_code == 400
    assert api.post("/api/v1/legacy-match-jobs/", {"connection": 987654321}, format="json").status_code == 404


def test_the_api_is_for_admins_and_another_tenant_gets_404(matched, alice, bob, api_as):
    member = api_as(alice.member_membership)
    assert member.get("/api/v1/legacy-proposals/").status_code == 403
    proposal = LegacyMatchProposal.objects.first()
    bob_admin = api_as(bob.admin_membership)
    assert bob_admin.get("/api/v1/legacy-proposals/").json()["results"] == []
    assert bob_admin.get(f"/api/v1/legacy-proposals/{proposal.pk}/").status_code == 404
    assert bob_admin.post(f"/api/v1/legacy-proposals/{proposal.pk}/accept/").status_code == 404
    assert bob_admin.post(f"/api/v1/legacy-proposals/{proposal.pk}/reject/").status_code == 404
    assert bob_admin.get(f"/api/v1/legacy-match-jobs/{matched['job'].pk}/").status_code == 404
    assert bob_admin.post("/api/v1/legacy-match-jobs/", {"connection": matched["connection"].pk}, format="json").status_code == 404
    decided = bob_admin.post("/api/v1/legacy-proposals/decide/", {"ids": [proposal.pk], "action": "reject"}, format="json")
    assert decided.json() == {"done": [], "errors": {str(proposal.pk): "No such proposal."}}
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.OPEN


def test_a_job_whose_worker_died_shows_resume_and_resuming_takes_it_over(matched, alice, web_as,
                                                                        django_capture_on_commit_callbacks):
    import datetime

    from django.utils import timezone

    client = web_as(alice.admin)
    url = review_url(matched["connection"].pk)
    LegacyMatchJob.objects.filter(pk=matched["job"].pk).update(
        status="running", lease_until=timezone.now() - datetime.timedelta(minutes=3), cursor="")
    html = client.get(url).content.decode()
    assert "Stopped (worker lost)" in html and "Resume" in html
    with django_capture_on_commit_callbacks(execute=False) as sent:
        client.post(f"{url}run/")
    assert LegacyMatchJob.objects.count() == 1 and len(sent) == 1  # the same job, sent to a worker again
