"""The user mapping: the org's active users as a picker, pre-matched by e-mail then name; a
typed User Id stays possible but must be an active user of the org; unmapped members are named
on the connection page and an unmapped assignee is warned about on the record."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse

from integrations.models import SalesforceUserLink
from integrations.user_links import OrgUser, org_active_users, suggested_org_user, user_link_set

REP = "rep@cothon-demo.example.com"




@pytest.fixture(autouse=True)
def _no_cached_org_users():
    cache.clear()
    yield
    cache.clear()


def _rename(user, first="", last="", email=None):
    user.first_name, user.last_name = first, last
    if email is not None:
        user.email = email
    user.save()
    return user


def test_the_org_users_are_read_once_through_the_client_and_cached(connected, emulator_reset):
    users = org_active_users(connection=connected)
    by_email = {u.email: u for u in users}
    assert {"admin@cothon-demo.example.com", REP} <= set(by_email)
    rep = by_email[REP]
    assert rep.name == "Riley Rep" and rep.id.startswith("005") and len(rep.id) == 18 and rep.username == REP
    assert cache.get(f"integrations:org-users:{connected.pk}") is not None
    assert org_active_users(connection=connected) == users


def test_suggestions_match_by_email_then_by_a_unique_name(alice):
    org = [OrgUser("005A", "Riley Rep", "riley@corp.example", "riley"), OrgUser("005B", "Sam Lee", "", "sam1"),
           OrgUser("005C", "Sam Lee", "", "sam2"), OrgUser("005D", "Ann Bid", "ann@corp.example", "ann")]
    assert suggested_org_user(_rename(alice.member, "X", "Y", "RILEY@corp.example"), org).id == "005A"
    assert suggested_org_user(_rename(alice.member, "ann", "bid", "other@x.example"), org).id == "005D"
    assert suggested_org_user(_rename(alice.member, "Sam", "Lee", "sam@x.example"), org) is None  # two namesakes
    assert suggested_org_user(_rename(alice.member, "", "", "nobody@x.example"), org) is None


def test_a_typed_id_must_be_an_active_user_of_the_org(alice):
    org = [OrgUser("005000000000001AAA", "Riley Rep", "rep@x.example", "rep")]
    with pytest.raises(ValidationError) as error:
        user_link_set(connection=_plain_connection(alice), user_id=alice.member.pk, salesforce_user_id="005000000000009AAA",
                      org_users=org)
    assert "No active user of this org" in str(error.value)
    with pytest.raises(ValidationError):
        user_link_set(connection=_plain_connection(alice), user_id=alice.member.pk, salesforce_user_id="not-an-id")
    link = user_link_set(connection=_plain_connection(alice), user_id=alice.member.pk, salesforce_user_id="005000000000001",
                         org_users=org)
    assert link.salesforce_user_id == "005000000000001AAA"  # the 15-character form is stored as 18


def _plain_connection(alice):
    from integrations.models import SalesforceConnection

    return SalesforceConnection.objects.get_or_create(tenant=alice.tenant, name="Prod", defaults={
        "login_url": "https://login.salesforce.com", "status": "connected"})[0]


def test_the_connection_page_offers_the_org_users_pre_matched_and_names_unmapped_members(web_as, alice, connected):
    _rename(alice.member, "Riley", "Rep", REP)
    client = web_as(alice.admin)
    html = client.get(reverse("integrations:connection", args=[connected.pk])).content.decode()
    assert 'data-testid="sf-user-picker"' in html and "Riley Rep — rep@cothon-demo.example.com" in html
    rep = next(u for u in org_active_users(connection=connected) if u.email == REP)
    assert f'<option value="{rep.id}" selected>' in html and "Suggested: same e-mail" in html
    assert 'data-testid="unmapped-members"' in html and "3 members without a Salesforce user" in html

    # Saving keeps the suggestion; the others stay unmapped and are still named.
    response = client.post(reverse("integrations:user_links", args=[connected.pk]), {
        f"u{alice.member.pk}-salesforce_user_id": rep.id})
    assert response.status_code == 302
    assert SalesforceUserLink.objects.get(connection=connected, user=alice.member).salesforce_user_id == rep.id
    html = client.get(reverse("integrations:connection", args=[connected.pk])).content.decode()
    assert "2 members without a Salesforce user" in html


def test_a_typed_id_that_is_not_an_org_user_is_refused_on_the_page(web_as, alice, connected):
    client = web_as(alice.admin)
    response = client.post(reverse("integrations:user_links", args=[connected.pk]), {
        f"u{alice.member.pk}-salesforce_user_id_typed": "005000000000009AAA"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "No active user of this org has the Id 005000000000009AAA" in html and "Nothing was saved" in html
    assert not SalesforceUserLink.objects.filter(user=alice.member).exists()


def test_another_tenant_cannot_post_a_user_mapping(web_as, alice, bob, connected):
    response = web_as(bob.admin).post(reverse("integrations:user_links", args=[connected.pk]), {
        f"u{alice.member.pk}-salesforce_user_id_typed": "005000000000001AAA"})
    assert response.status_code == 404


def test_the_record_warns_when_its_assignee_has_no_salesforce_user(web_as, alice, connected, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, assignee=alice.member)
    url = reverse("opportunities:detail", args=[opportunity.pk])
    html = web_as(alice.member).get(url).content.decode()
    assert 'data-testid="unmapped-assignee"' in html and "Opportunity Owner in Salesforce stays as it is" in html
    rep = next(u for u in org_active_users(connection=connected) if u.email == REP)
    user_link_set(connection=connected, user_id=alice.member.pk, salesforce_user_id=rep.id)
    assert 'data-testid="unmapped-assignee"' not in web_as(alice.member).get(url).content.decode()
