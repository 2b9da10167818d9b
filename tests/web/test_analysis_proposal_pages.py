"""Bid analyses and proposals in the browser pages: start, add requirements, complete (the
"analysis completed" sync trigger); create, edit, generate and download proposals (the
"proposal generated" trigger) — with roles, tenant isolation and bad input."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.models import SalesforceConnection
from opportunities import services
from opportunities.models import BidAnalysis, Requirement
from proposals.models import Proposal, ProposalSection
from proposals.services import proposal_create
from sync_engine.fanout import fan_out_pending
from sync_engine.models import OutboxEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def opportunity(alice, opportunity_factory):
    return opportunity_factory(alice.tenant, title="Cloud hosting for SSC")


@pytest.fixture
def analysis(alice, opportunity):
    return services.analysis_create(tenant=alice.tenant, opportunity=opportunity, summary="First look")


@pytest.fixture
def proposal(alice, opportunity):
    return proposal_create(tenant=alice.tenant, opportunity=opportunity, title="Technical proposal",
                           sections=[{"title": "Summary", "body": "We will host it."}])


@pytest.fixture
def connected(alice):
    """A connected default org, so services write outbox entries (no Salesforce call is made)."""
    return SalesforceConnection.objects.create(
        tenant=alice.tenant, name="Production", login_url="https://login.salesforce.com",
        instance_url="https://alice.my.salesforce.com", status="connected", is_default=True)


def _html(response) -> str:
    return response.content.decode()


def _requirement(analysis, **fields):
    data = {"text": "Hold a valid Reliability clearance", "kind": "mandatory", "capability_match": "met",
            "code": "M1", "weight": "", "notes": ""}
    data.update(fields)
    return {f"req-{analysis.pk}-{name}": value for name, value in data.items()}


def _sections(rows, *, initial=0):
    data = {"sections-TOTAL_FORMS": str(len(rows)), "sections-INITIAL_FORMS": str(initial),
            "sections-MIN_NUM_FORMS": "0", "sections-MAX_NUM_FORMS": "50"}
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"sections-{index}-{name}"] = value
    return data


# --- analyses ------------------------------------------------------------------------------

def test_the_record_page_offers_new_analysis_and_new_proposal_to_members_only(web_as, alice, opportunity, analysis):
    url = reverse("opportunities:detail", args=[opportunity.pk])
    member_html = _html(web_as(alice.member).get(url))
    assert "New analysis" in member_html and "New proposal" in member_html
    assert "Add a requirement" in member_html and "Complete analysis" in member_html
    viewer_html = _html(web_as(alice.viewer).get(url))
    for control in ("New analysis", "New proposal", "Add a requirement", "Complete analysis"):
        assert control not in viewer_html


def test_member_starts_an_analysis(web_as, alice, opportunity):
    response = web_as(alice.member).post(reverse("opportunities:analysis_create", args=[opportunity.pk]), {
        "summary": "Strong fit", "key_findings": "Incumbent weak\nWe hold the clearances", "risks": "",
        "recommendation": "Bid", "compliance_score": ""})
    analysis = BidAnalysis.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"/opportunities/{opportunity.pk}/#analysis-{analysis.pk}")
    assert (analysis.summary, analysis.status, analysis.created_by) == ("Strong fit", "in_progress", alice.member)
    opportunity.refresh_from_db()
    assert opportunity.analysis_status == "in_progress"


@pytest.mark.parametrize("field, value, message", [
    ("compliance_score", "150", "less than or equal to 100"),
    ("compliance_score", "lots", "Enter a whole number"),
    ("recommendation", "x" * 300, "at most 255 characters"),
])
def test_bad_analysis_input_is_a_400_and_saves_nothing(web_as, alice, opportunity, field, value, message):
    data = {"summary": "S", "key_findings": "", "risks": "", "recommendation": "", "compliance_score": ""}
    response = web_as(alice.member).post(reverse("opportunities:analysis_create", args=[opportunity.pk]),
                                         {**data, field: value})
    assert response.status_code == 400
    assert "Nothing was saved" in _html(response) and message in _html(response)
    assert not BidAnalysis.objects.exists()


def test_member_edits_an_analysis(web_as, alice, analysis):
    client = web_as(alice.member)
    url = reverse("opportunities:analysis_edit", args=[analysis.pk])
    assert "First look" in _html(client.get(url))
    response = client.post(url, {"summary": "Second look", "key_findings": "", "risks": "Tight timeline",
                                 "recommendation": "", "compliance_score": "60"})
    assert response.status_code == 302
    analysis.refresh_from_db()
    assert (analysis.summary, analysis.risks, analysis.compliance_score) == ("Second look", "Tight timeline", 60)


def test_a_requirement_added_with_htmx_returns_the_refreshed_card(web_as, alice, analysis, htmx_headers):
    response = web_as(alice.member).post(reverse("opportunities:requirement_add", args=[analysis.pk]),
                                         _requirement(analysis), **htmx_headers)
    assert response.status_code == 200
    html = _html(response)
    assert html.lstrip().startswith("<article") or f'id="analysis-{analysis.pk}"' in html
    assert "Hold a valid Reliability clearance" in html and "Requirements (1)" in html
    assert Requirement.objects.get().analysis == analysis


@pytest.mark.parametrize("fields, field, message", [
    ({"text": ""}, "text", "Describe the requirement."),
    ({"kind": ""}, "kind", "Choose mandatory or rated."),
    ({"kind": "optional"}, "kind", "Select a valid choice"),
    ({"capability_match": "maybe"}, "capability_match", "Select a valid choice"),
    ({"weight": "-3"}, "weight", "greater than or equal to 0"),
    ({"code": "C" * 40}, "code", "at most 30 characters"),
])
def test_a_bad_requirement_is_a_400_with_the_error_on_its_field(web_as, alice, analysis, htmx_headers,
                                                                fields, field, message):
    response = web_as(alice.member).post(reverse("opportunities:requirement_add", args=[analysis.pk]),
                                         _requirement(analysis, **fields), **htmx_headers)
    assert response.status_code == 200  # HTMX swaps only 2xx answers; the card carries the errors
    html = _html(response)
    errors = html.split(f'id="id_req-{analysis.pk}-{field}-errors"', 1)[1].split("</ul>", 1)[0]
    assert message in errors
    assert "<details class=\"subform\" open>" in html  # the form stays open with the typed values
    assert not Requirement.objects.exists()


def test_a_requirement_without_javascript_redirects_or_shows_the_page_with_errors(web_as, alice, analysis):
    client = web_as(alice.member)
    url = reverse("opportunities:requirement_add", args=[analysis.pk])
    response = client.post(url, _requirement(analysis))
    assert response.status_code == 302 and response["Location"].endswith(f"#analysis-{analysis.pk}")
    response = client.post(url, _requirement(analysis, text=""))
    assert response.status_code == 400 and "Describe the requirement." in _html(response)
    assert Requirement.objects.count() == 1


def test_the_completion_form_suggests_the_share_of_requirements_met(web_as, alice, opportunity, analysis):
    for match in ("met", "met", "partial", "not_met"):
        services.requirement_add(tenant=alice.tenant, analysis=analysis, text=f"R {match}", kind="rated",
                                 capability_match=match)
    services.requirement_add(tenant=alice.tenant, analysis=analysis, text="Unassessed", kind="rated")
    html = _html(web_as(alice.member).get(reverse("opportunities:detail", args=[opportunity.pk])))
    # (1 + 1 + 0.5 + 0) / 4 assessed (the unassessed one does not count) = 62.5 → 63, rounded half up.
    assert f'name="done-{analysis.pk}-compliance_score" value="63"' in html


def test_completing_an_analysis_rolls_up_and_queues_the_sync(web_as, alice, opportunity, analysis, connected):
    services.requirement_add(tenant=alice.tenant, analysis=analysis, text="Clearance", kind="mandatory")
    fan_out_pending()  # the worker turns recorded changes into outbox rows
    OutboxEntry.objects.all().delete()
    response = web_as(alice.member).post(reverse("opportunities:analysis_complete", args=[analysis.pk]), {
        f"done-{analysis.pk}-compliance_score": "85", f"done-{analysis.pk}-recommendation": "Bid"})
    assert response.status_code == 302
    analysis.refresh_from_db()
    opportunity.refresh_from_db()
    assert (analysis.status, analysis.compliance_score, analysis.recommendation) == ("completed", 85, "Bid")
    assert (opportunity.compliance_score, opportunity.analysis_status) == (85, "complete")
    fan_out_pending()
    queued = set(OutboxEntry.objects.values_list("record_type", "event"))
    assert {("analysis", "completed"), ("requirement", "created")} <= queued
    assert any(kind == "opportunity" for kind, _ in queued)
    page = _html(web_as(alice.member).get(response["Location"], follow=True))
    assert "Bid Analysis Completed" in page and "Complete analysis" not in page


@pytest.mark.parametrize("score, message", [("", "Enter the compliance score (0–100)."),
                                            ("101", "less than or equal to 100")])
def test_completing_without_a_valid_score_is_a_400_and_changes_nothing(web_as, alice, opportunity, analysis,
                                                                       score, message):
    response = web_as(alice.member).post(reverse("opportunities:analysis_complete", args=[analysis.pk]), {
        f"done-{analysis.pk}-compliance_score": score, f"done-{analysis.pk}-recommendation": ""})
    assert response.status_code == 400 and message in _html(response)
    analysis.refresh_from_db()
    assert analysis.status == "in_progress"


def test_completing_twice_changes_nothing_the_second_time(web_as, alice, analysis):
    services.analysis_complete(tenant=alice.tenant, analysis=analysis, compliance_score=70)
    response = web_as(alice.member).post(reverse("opportunities:analysis_complete", args=[analysis.pk]), {
        f"done-{analysis.pk}-compliance_score": "10"}, follow=True)
    assert "already completed" in _html(response)
    analysis.refresh_from_db()
    assert analysis.compliance_score == 70


# --- proposals -----------------------------------------------------------------------------

def test_a_new_proposal_starts_from_the_default_outline(web_as, alice, opportunity):
    html = _html(web_as(alice.member).get(reverse("proposals:create", args=[opportunity.pk])))
    for title in ("Executive Summary", "Technical Approach", "Team", "Pricing"):
        assert f'value="{title}"' in html
    assert 'value="Proposal — Cloud hosting for SSC"' in html


def test_member_creates_a_proposal_and_blank_rows_are_skipped(web_as, alice, opportunity):
    rows = [{"title": "Executive Summary", "body": "Why us"}, {"title": "", "body": ""},
            {"title": "Pricing", "body": "Fixed price", "DELETE": "on"}, {"title": "Team", "body": ""}]
    response = web_as(alice.member).post(reverse("proposals:create", args=[opportunity.pk]),
                                         {"title": "Our bid", **_sections(rows)})
    proposal = Proposal.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"#proposal-{proposal.pk}")
    assert [(s.title, s.body, s.position) for s in proposal.sections.all()] == [
        ("Executive Summary", "Why us", 0), ("Team", "", 1)]
    assert (proposal.status, proposal.created_by) == ("draft", alice.member)


@pytest.mark.parametrize("title, rows, message", [
    ("", [{"title": "A", "body": ""}], "Give the proposal a title."),
    ("x" * 300, [{"title": "A", "body": ""}], "at most 255 characters"),
    ("Bid", [{"title": "", "body": "Text without a heading"}], "Give this section a title"),
    ("Bid", [{"title": "T" * 300, "body": ""}], "at most 255 characters"),
])
def test_bad_proposal_input_is_a_400_and_saves_nothing(web_as, alice, opportunity, title, rows, message):
    response = web_as(alice.member).post(reverse("proposals:create", args=[opportunity.pk]),
                                         {"title": title, **_sections(rows)})
    assert response.status_code == 400
    assert "Nothing was saved" in _html(response) and message in _html(response)
    assert not Proposal.objects.exists() and not ProposalSection.objects.exists()


def test_a_tampered_section_count_is_a_400_not_a_crash(web_as, alice, opportunity):
    data = {"title": "Bid", **_sections([{"title": "A", "body": ""}])}
    data["sections-TOTAL_FORMS"] = "oops"
    response = web_as(alice.member).post(reverse("proposals:create", args=[opportunity.pk]), data)
    assert response.status_code == 400 and "ManagementForm data is missing or has been tampered with" in _html(response)
    assert not Proposal.objects.exists()


def test_member_edits_status_and_sections(web_as, alice, proposal):
    client = web_as(alice.member)
    url = reverse("proposals:edit", args=[proposal.pk])
    html = _html(client.get(url))
    assert 'value="Summary"' in html and "We will host it." in html
    rows = [{"title": "Summary", "body": "Updated", "DELETE": "on"}, {"title": "Approach", "body": "Cloud"}]
    response = client.post(url, {"title": "Technical proposal v2", "status": "submitted", **_sections(rows, initial=1)})
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert (proposal.title, proposal.status) == ("Technical proposal v2", "submitted")
    assert [s.title for s in proposal.sections.all()] == ["Approach"]


def test_generating_makes_the_pdf_and_queues_the_sync(web_as, alice, opportunity, proposal, connected):
    fan_out_pending()  # the worker turns recorded changes into outbox rows
    OutboxEntry.objects.all().delete()
    client = web_as(alice.member)
    response = client.post(reverse("proposals:generate", args=[proposal.pk]))
    assert response.status_code == 302 and response["Location"].endswith(f"#proposal-{proposal.pk}")
    proposal.refresh_from_db()
    assert proposal.status == "ready" and proposal.generated_at and proposal.document
    fan_out_pending()
    assert OutboxEntry.objects.filter(record_type="proposal", record_id=proposal.pk, event="generated").exists()
    page = _html(client.get(response["Location"], follow=True))
    assert "Proposal Generated" in page and reverse("proposals:document", args=[proposal.pk]) in page
    assert "/media/" not in page

    download = web_as(alice.viewer).get(reverse("proposals:document", args=[proposal.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'inline; filename="technical-proposal.pdf"'
    assert download["Cache-Control"] == "private, no-store"
    assert b"".join(download.streaming_content)[:5] == b"%PDF-"


def test_generating_without_sections_says_why_and_makes_nothing(web_as, alice, opportunity):
    empty = proposal_create(tenant=alice.tenant, opportunity=opportunity, title="Empty", sections=[])
    response = web_as(alice.member).post(reverse("proposals:generate", args=[empty.pk]), follow=True)
    assert "needs at least one section" in _html(response) and "Nothing was generated" in _html(response)
    empty.refresh_from_db()
    assert (empty.status, empty.document.name) == ("draft", "")


def test_the_document_is_a_404_until_generated(web_as, alice, proposal):
    assert web_as(alice.viewer).get(reverse("proposals:document", args=[proposal.pk])).status_code == 404


def test_documents_are_not_served_from_a_public_media_url(client, alice, proposal):
    from proposals.services import proposal_generate

    proposal_generate(tenant=alice.tenant, proposal=proposal)
    proposal.refresh_from_db()
    assert client.get(f"/media/{proposal.document.name}").status_code == 404


# --- roles and tenant isolation ------------------------------------------------------------

ANALYSIS_WRITES = [("opportunities:analysis_edit", "get"), ("opportunities:analysis_edit", "post"),
                   ("opportunities:requirement_add", "post"), ("opportunities:analysis_complete", "post")]
PROPOSAL_WRITES = [("proposals:edit", "get"), ("proposals:edit", "post"), ("proposals:generate", "post")]


def _payload(analysis):
    return {"summary": "Hijacked", **_requirement(analysis), f"done-{analysis.pk}-compliance_score": "1",
            "title": "Hijacked", **_sections([{"title": "X", "body": ""}])}


@pytest.mark.parametrize("name, method", [*ANALYSIS_WRITES, *PROPOSAL_WRITES, ("proposals:document", "get"),
                                          ("opportunities:analysis_create", "get"),
                                          ("opportunities:analysis_create", "post"),
                                          ("proposals:create", "get"), ("proposals:create", "post")])
def test_another_tenants_records_are_404(web_as, alice, bob, opportunity, analysis, proposal, name, method):
    target = {"opportunities:analysis_create": opportunity, "proposals:create": opportunity}.get(
        name, proposal if name.startswith("proposals:") else analysis)
    response = getattr(web_as(bob.admin), method)(reverse(name, args=[target.pk]), _payload(analysis))
    assert response.status_code == 404
    analysis.refresh_from_db()
    proposal.refresh_from_db()
    assert (analysis.summary, analysis.status, proposal.title, proposal.status) == (
        "First look", "in_progress", "Technical proposal", "draft")
    assert not Requirement.objects.exists() and BidAnalysis.objects.count() == 1 and Proposal.objects.count() == 1


@pytest.mark.parametrize("name, method", [*ANALYSIS_WRITES, *PROPOSAL_WRITES,
                                          ("opportunities:analysis_create", "post"), ("proposals:create", "post")])
def test_viewers_get_403_on_writes(web_as, alice, opportunity, analysis, proposal, name, method):
    target = {"opportunities:analysis_create": opportunity, "proposals:create": opportunity}.get(
        name, proposal if name.startswith("proposals:") else analysis)
    response = getattr(web_as(alice.viewer), method)(reverse(name, args=[target.pk]), _payload(analysis))
    assert response.status_code == 403
    assert not Requirement.objects.exists() and BidAnalysis.objects.count() == 1 and Proposal.objects.count() == 1


@pytest.mark.parametrize("name", ["opportunities:analysis_edit", "proposals:edit", "proposals:document"])
def test_anonymous_users_are_sent_to_login(client, name):
    response = client.get(reverse(name, args=[1]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_form_pages_show_no_template_syntax(web_as, alice, opportunity, analysis, proposal, department_factory):
    department = department_factory(alice.tenant, name="Transport Canada")
    client = web_as(alice.member)
    for url in (reverse("opportunities:create"), reverse("opportunities:edit", args=[opportunity.pk]),
                reverse("opportunities:analysis_create", args=[opportunity.pk]),
                reverse("opportunities:analysis_edit", args=[analysis.pk]),
                reverse("proposals:create", args=[opportunity.pk]), reverse("proposals:edit", args=[proposal.pk]),
                reverse("departments:create"), reverse("departments:edit", args=[department.pk])):
        html = _html(client.get(url))
        assert "{#" not in html and "{%" not in html and "{{" not in html, url
