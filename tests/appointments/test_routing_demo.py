"""`make run`'s routing rules (demo/routing.py): every kind on, checked against the demo org
through the pages' service, and left alone once saved."""

from __future__ import annotations

import pytest

from demo.routing import DEMO_CREDIT_APP_PASSWORD, seed_routing_rules
from sync_engine.appointments.models import RoutingKind, RoutingRule
from sync_engine.appointments.routing_services import credit_app_password

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]


def test_the_demo_routing_rules_are_saved_once(alice, connected):
    assert "routing rules on" in seed_routing_rules(connection=connected)
    rules = {r.kind: r for r in RoutingRule.objects.filter(connection=connected)}
    assert set(rules) == set(RoutingKind.values) and all(r.enabled for r in rules.values())
    assert rules["results"].no_sale_pickers[1]["sf_field"] == "i360__Result_Reason__c"
    assert credit_app_password(rules["credit_app"]) == DEMO_CREDIT_APP_PASSWORD
    assert rules["contract"].backup_recipients == [alice.admin.email]

    RoutingRule.objects.filter(pk=rules["contract"].pk).update(enabled=False)
    assert seed_routing_rules(connection=connected) == "routing rules already set up."
    assert not RoutingRule.objects.get(pk=rules["contract"].pk).enabled
