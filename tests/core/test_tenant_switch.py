from django.urls import reverse

from cothon.tenancy.services import membership_set


def test_switching_from_a_record_page_lands_on_the_list_of_the_other_tenant(client, alice, bob, opportunity_factory):
    membership_set(tenant=bob.tenant, user=alice.member, role="member")
    opportunity = opportunity_factory(alice.tenant)
    client.force_login(alice.member)
    response = client.post(reverse("tenant_switch"), {"tenant": bob.tenant.pk,
                                                       "next": reverse("opportunities:detail", args=[opportunity.pk])})
    assert response.status_code == 302 and response["Location"] == reverse("opportunities:list")


def test_switching_from_a_list_keeps_the_page_and_its_filters(client, alice, bob):
    membership_set(tenant=bob.tenant, user=alice.member, role="member")
    client.force_login(alice.member)
    response = client.post(reverse("tenant_switch"), {"tenant": bob.tenant.pk, "next": "/sync/logs/?result=failed"})
    assert response["Location"] == "/sync/logs/?result=failed"


def test_an_outside_next_url_is_refused(client, alice, bob):
    membership_set(tenant=bob.tenant, user=alice.member, role="member")
    client.force_login(alice.member)
    response = client.post(reverse("tenant_switch"), {"tenant": bob.tenant.pk, "next": "https://evil.example/"})
    assert response["Location"] == reverse("opportunities:list")
