"""The demo's legacy records (demo/legacy.py, run by `manage.py connect_demo_orgs`): six legacy
opportunities in the org, their Cothon twins proposed first, their pushes held until decided."""

from __future__ import annotations

from demo.legacy import DECOYS, PAIRS, seed_legacy_records
from sync_engine.executor import push_connection
from sync_engine.legacy.models import LegacyMatchProposal, ProposalStatus
from opportunities.models import Opportunity


def test_the_demo_gets_six_legacy_pairs_proposed_best_first_and_held(alice, connected, emulator_reset):
    line = seed_legacy_records(connection=connected)
    assert "6 legacy opportunities" in line, line
    sf = emulator_reset.sf()
    legacy = {r["Name"]: r["Id"] for r in sf.query_all("SELECT Id, Name FROM Opportunity WHERE Cothon_Ref__c = null")["records"]}
    assert set(legacy) == {p.sf_name for p in PAIRS} | {d[0] for d in DECOYS}
    twins = {p.sf_name: Opportunity.objects.get(tenant=alice.tenant, reference=p.reference).pk for p in PAIRS}
    best = dict(LegacyMatchProposal.objects.filter(rank=1, status=ProposalStatus.OPEN).values_list("salesforce_id", "opportunity_id"))
    assert {name: best.get(legacy[name]) for name in twins} == twins
    # The far decoy is not proposed; the near one is, below the true pairs.
    assert legacy[DECOYS[1][0]] not in best
    ordered = list(LegacyMatchProposal.objects.order_by("-score").values_list("salesforce_id", flat=True))
    assert ordered[-1] == legacy[DECOYS[0][0]]
    # The workers' first push of the six holds them: no second Salesforce opportunity.
    push_connection(connection_id=connected.pk)
    refs = ", ".join(f"'{p.reference}'" for p in PAIRS)
    assert sf.query(f"SELECT Id FROM Opportunity WHERE Cothon_Ref__c IN ({refs})")["totalSize"] == 0
    # `make run` again: nothing is added.
    assert seed_legacy_records(connection=connected) == "legacy records already in place"
    assert Opportunity.objects.filter(tenant=alice.tenant).count() == len(PAIRS)
