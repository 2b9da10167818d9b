"""The legacy matcher's ranking on hand-built fixtures: the true match first against decoys that
share most of its words, a different department, a far date or a far amount."""

from __future__ import annotations

import datetime
from decimal import Decimal as D

from sync_engine.legacy.scoring import (
    MIN_SCORE,
    CothonIndex,
    CothonSide,
    SalesforceSide,
    amount_signal,
    date_signal,
    naive_matches_for,
    normalise,
    score_pair,
)

DAY = datetime.date(2027, 3, 1)


def days(n: int) -> datetime.date:
    return DAY + datetime.timedelta(days=n)


TRUE = CothonSide(10, "Coast guard radar maintenance for Fisheries and Oceans Canada — the Atlantic region", days(20),
                  D(400000), D(600000), "Fisheries and Oceans Canada", account_id="001000000000001AAA")
DECOYS = [
    # Same words, another region and department, months apart, three times the value.
    CothonSide(11, "Coast guard radar maintenance for Transport Canada — the Pacific region", days(150), D(1500000), D(1800000),
               "Transport Canada"),
    # Same department, same dates and value, another subject.
    CothonSide(12, "Marine vessel refit for Fisheries and Oceans Canada — the Atlantic region", days(20), D(400000), D(600000),
               "Fisheries and Oceans Canada", account_id="001000000000001AAA"),
    # A subset title: every word of the short one is in the Salesforce name.
    CothonSide(13, "Radar maintenance", days(22), D(450000), D(450000), ""),
    CothonSide(14, "Snow removal and grounds keeping at Parks Canada", days(20), D(500000), D(500000), "Parks Canada"),
]
LEGACY = SalesforceSide("006000000000001AAA", "Coast Guard radar maintenance (Atlantic) - DFO", days(21), D(500000),
                        account_id="001000000000001", account_name="Fisheries and Oceans Canada", stage="Qualification")


def test_the_true_match_ranks_first_against_decoys_that_share_its_words():
    matches = CothonIndex([*DECOYS, TRUE]).matches_for(LEGACY)
    assert matches[0].cothon_id == TRUE.id and matches[0].rank == 1
    assert matches[0].score >= 85
    others = {m.cothon_id: m.score for m in matches[1:]}
    assert all(score < matches[0].score - 10 for score in others.values()), others
    assert 14 not in others  # another subject altogether is never proposed


def test_each_signal_explains_itself():
    evidence = score_pair(LEGACY, TRUE).evidence
    assert evidence["date"]["days"] == 1 and "1 day after" in evidence["date"]["detail"]
    assert evidence["amount"]["score"] == 100 and "within Cothon's value $400,000–$600,000" in evidence["amount"]["detail"]
    # The department's Account in this org (18- vs 15-character id).
    assert evidence["account"]["score"] == 100 and "Same Account" in evidence["account"]["detail"]
    assert "similar" in evidence["title"]["detail"]


def test_an_account_is_also_recognised_by_the_department_name_and_a_different_one_scores_zero():
    by_name = score_pair(LEGACY, CothonSide(1, TRUE.title, department_name="Fisheries and Oceans Canada")).evidence["account"]
    assert by_name["score"] == 100 and "department's name" in by_name["detail"]
    other = score_pair(LEGACY, CothonSide(1, TRUE.title, department_name="Health Canada")).evidence["account"]
    assert other["score"] == 0 and "Different Account" in other["detail"]


def test_missing_values_are_neutral_not_evidence_against():
    bare = SalesforceSide("006000000000002AAA", "Coast Guard radar maintenance (Atlantic) - DFO")
    match = score_pair(bare, TRUE)
    assert {match.evidence[k]["score"] for k in ("date", "amount", "account")} == {50.0}
    assert "not judged" in match.evidence["date"]["detail"]


def test_date_and_amount_scores_fall_with_distance():
    assert date_signal(days(3), days(0))[0] == 100
    assert date_signal(days(60), days(0))[0] < date_signal(days(10), days(0))[0] < 100
    assert date_signal(days(-200), days(0))[0] == 0
    assert amount_signal(D(650000), D(400000), D(600000))[0] > amount_signal(D(800000), D(400000), D(600000))[0] > 0
    score, text = amount_signal(D(100000), D(400000), D(600000))
    assert score == 0 and "75% below" in text


def test_titles_are_compared_without_case_accents_punctuation_or_filler_words():
    assert normalise("Réfection du quai — Pêches & Océans") == normalise("refection quai peches and oceans")
    assert normalise("The radar of the coast") == "radar coast"


def test_a_pair_below_the_minimum_is_not_proposed():
    unrelated = SalesforceSide("006000000000003AAA", "Office furniture supply", days(300), D(5000))
    assert CothonIndex([TRUE, *DECOYS]).matches_for(unrelated) == []
    assert all(m.score >= MIN_SCORE for m in CothonIndex([TRUE, *DECOYS]).matches_for(LEGACY))


def test_the_blocked_search_finds_what_the_full_cross_product_finds():
    candidates = [TRUE, *DECOYS]
    blocked = CothonIndex(candidates).matches_for(LEGACY)
    naive = naive_matches_for(LEGACY, candidates)
    assert [(m.cothon_id, m.score, m.rank) for m in blocked] == [(m.cothon_id, m.score, m.rank) for m in naive]


def test_a_pair_whose_titles_share_too_few_words_is_never_proposed_however_well_the_rest_agrees():
    # Same department, date and value as the legacy record, another tender: without the title
    # rule it would score above the minimum on the other signals alone.
    refit = DECOYS[1]
    assert score_pair(LEGACY, refit).score >= MIN_SCORE
    assert refit.id not in {m.cothon_id for m in CothonIndex([TRUE, *DECOYS]).matches_for(LEGACY)}
