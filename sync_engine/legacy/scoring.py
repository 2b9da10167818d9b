"""How a legacy Salesforce opportunity and a Cothon opportunity are scored: pure functions, no
database and no Salesforce, so the ranking is tested on hand-built fixtures.

Titles are compared without the department's (Cothon) and the Account's (Salesforce) name: the
account signal weighs those, and two tenders of one department must not look alike for sharing
its name.

Blocking, so the work is not the full cross product: an inverted index of the Cothon title words
gives, per Salesforce opportunity, the `BLOCK` candidates sharing the most informative words
(weighted by rarity; words in more than `COMMON_SHARE` of the titles only when nothing rarer is
shared); `rapidfuzz.process.extract` compares those in C++ with a score cutoff and keeps
`SHORTLIST`; only that list gets the other signals, in Python. The naive way — every signal for
every pair — is the baseline of `benchmarks/legacy_match.py`.

Score (0–100) = 55 % title + 15 % close date + 15 % amount + 15 % account. A signal that cannot
be judged (no close date on one side, no amount, no account) counts 50: no evidence either way.
"""

from __future__ import annotations

import datetime
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from rapidfuzz import fuzz, process

WEIGHTS = {"title": 0.55, "date": 0.15, "amount": 0.15, "account": 0.15}
NEUTRAL = 50.0
TITLE_CUTOFF = 60.0   # token_set_ratio below this never reaches the other signals
SHORTLIST = 10        # Cothon titles kept per Salesforce opportunity after the title pass
BLOCK = 64            # candidates from the word index that the title pass compares
COMMON_SHARE = 0.1    # a word in more than this share of the Cothon titles does not block on its own
MIN_SCORE = 60.0      # a pair scoring below this is not proposed
KEEP_PER_SALESFORCE = 3
DATE_SAME_DAYS = 3    # within this many days counts as the same date
DATE_ZERO_DAYS = 120  # this far apart (or more) scores 0
AMOUNT_ZERO_RATIO = 0.5  # 50 % outside Cothon's range (or more) scores 0

_STOPWORDS = frozenset("a an and at de des du et for in la le les of on pour the to".split())
_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalise(title: str) -> str:
    """Lower case, accents and punctuation gone, filler words dropped: "Réfection — DND's HQ"
    and "refection dnd s hq" compare equal."""
    text = unicodedata.normalize("NFKD", title or "").encode("ascii", "ignore").decode().lower().replace("&", " and ")
    return " ".join(w for w in _NON_WORD.sub(" ", text).split() if w not in _STOPWORDS)


def title_key(title: str, name: str = "") -> str:
    """The normalised title without the words of `name` (department or Account), unless that
    would leave fewer than two words."""
    words = normalise(title).split()
    drop = set(normalise(name).split())
    kept = [w for w in words if w not in drop]
    return " ".join(kept if len(kept) >= 2 else words)


@dataclass(frozen=True)
class CothonSide:
    id: int
    title: str
    closing_date: datetime.date | None = None
    value_min: Decimal | None = None
    value_max: Decimal | None = None
    department_name: str = ""
    account_id: str = ""  # the Salesforce Account the department is linked to in this connection


@dataclass(frozen=True)
class SalesforceSide:
    id: str
    name: str
    close_date: datetime.date | None = None
    amount: Decimal | None = None
    account_id: str = ""
    account_name: str = ""
    stage: str = ""


@dataclass
class Match:
    cothon_id: int
    salesforce: SalesforceSide
    score: float
    title_score: float
    date_difference_days: int | None
    evidence: dict = field(default_factory=dict)
    rank: int = 1


def title_signal(sf_norm: str, cothon_norm: str) -> tuple[float, float, str]:
    """Half word overlap (token_set_ratio: one title's words inside the other's), half the whole
    wording (token_sort_ratio: extra or missing words cost), so a short title that is a subset of
    many longer ones does not score 100 against all of them."""
    overlap = fuzz.token_set_ratio(sf_norm, cothon_norm)
    wording = fuzz.token_sort_ratio(sf_norm, cothon_norm)
    score = round((overlap + wording) / 2, 1)
    return score, overlap, f"Titles {score:.0f}% similar (shared words {overlap:.0f}%, whole wording {wording:.0f}%)."


def date_signal(sf_date: datetime.date | None, cothon_date: datetime.date | None) -> tuple[float, int | None, str]:
    if sf_date is None or cothon_date is None:
        side = "Salesforce" if sf_date is None else "Cothon"
        return NEUTRAL, None, f"No close date in {side}: not judged."
    days = (sf_date - cothon_date).days
    apart = abs(days)
    if apart <= DATE_SAME_DAYS:
        score = 100.0
    else:
        score = max(0.0, 100.0 * (1 - (apart - DATE_SAME_DAYS) / (DATE_ZERO_DAYS - DATE_SAME_DAYS)))
    if days == 0:
        text = "Same close date."
    else:
        text = f"Salesforce closes {apart} day{'s' if apart != 1 else ''} {'after' if days > 0 else 'before'} Cothon."
    return round(score, 1), days, text


def _money(value: Decimal) -> str:
    return f"${value:,.0f}"


def amount_signal(amount: Decimal | None, low: Decimal | None, high: Decimal | None) -> tuple[float, str]:
    if low is None and high is None:
        return NEUTRAL, "No value in Cothon: not judged."
    if amount is None:
        return NEUTRAL, "No Amount in Salesforce: not judged."
    low = low if low is not None else high
    high = high if high is not None else low
    low, high = min(low, high), max(low, high)
    shown = _money(low) if low == high else f"{_money(low)}–{_money(high)}"
    if low <= amount <= high:
        return 100.0, f"Amount {_money(amount)} is within Cothon's value {shown}."
    bound = low if amount < low else high
    ratio = float(abs(amount - bound) / bound) if bound else 1.0
    score = max(0.0, 100.0 * (1 - ratio / AMOUNT_ZERO_RATIO))
    return round(score, 1), (f"Amount {_money(amount)} is {ratio:.0%} {'below' if amount < low else 'above'} "
                             f"Cothon's value {shown}.")


def account_signal(sf: SalesforceSide, cothon: CothonSide) -> tuple[float, str]:
    if not cothon.department_name:
        return NEUTRAL, "No department in Cothon: not judged."
    if not sf.account_id and not sf.account_name:
        return NEUTRAL, "No Account on the Salesforce opportunity: not judged."
    if cothon.account_id and sf.account_id and cothon.account_id[:15] == sf.account_id[:15]:
        return 100.0, f"Same Account: “{sf.account_name or sf.account_id}” is the department's Account in this org."
    if sf.account_name:
        a, b = normalise(sf.account_name), normalise(cothon.department_name)
        if a == b:
            return 100.0, f"Account “{sf.account_name}” has the department's name."
        similar = fuzz.token_sort_ratio(a, b)
        if similar >= 90:
            return 80.0, f"Account “{sf.account_name}” is named almost like the department “{cothon.department_name}”."
    return 0.0, f"Different Account: “{sf.account_name or sf.account_id}”, the department is “{cothon.department_name}”."


def score_pair(sf: SalesforceSide, cothon: CothonSide, *, sf_norm: str | None = None, cothon_norm: str | None = None) -> Match:
    title, overlap, title_text = title_signal(sf_norm if sf_norm is not None else title_key(sf.name, sf.account_name),
                                              cothon_norm if cothon_norm is not None else title_key(cothon.title, cothon.department_name))
    date, days, date_text = date_signal(sf.close_date, cothon.closing_date)
    amount, amount_text = amount_signal(sf.amount, cothon.value_min, cothon.value_max)
    account, account_text = account_signal(sf, cothon)
    total = (WEIGHTS["title"] * title + WEIGHTS["date"] * date + WEIGHTS["amount"] * amount + WEIGHTS["account"] * account)
    evidence = {
        "title": {"score": title, "detail": title_text, "overlap": round(overlap, 1)},
        "date": {"score": date, "detail": date_text, "days": days},
        "amount": {"score": amount, "detail": amount_text},
        "account": {"score": account, "detail": account_text},
        "weights": WEIGHTS,
    }
    return Match(cothon_id=cothon.id, salesforce=sf, score=round(total, 1), title_score=title, date_difference_days=days,
                 evidence=evidence)


class CothonIndex:
    """The candidate Cothon opportunities with their title keys and a word index, built once per job."""

    def __init__(self, candidates: Iterable[CothonSide]) -> None:
        self.candidates: list[CothonSide] = list(candidates)
        self.titles: list[str] = [title_key(c.title, c.department_name) for c in self.candidates]
        self.postings: dict[str, list[int]] = {}
        for index, key in enumerate(self.titles):
            for word in set(key.split()):
                self.postings.setdefault(word, []).append(index)
        total = len(self.titles) + 1
        self.weight = {word: math.log(total / (len(ids) + 1)) + 0.01 for word, ids in self.postings.items()}
        self.common = max(50, int(COMMON_SHARE * len(self.titles)))

    def __len__(self) -> int:
        return len(self.candidates)

    def block(self, query: str) -> list[int]:
        """The indexes of the candidates sharing the most (rarity-weighted) words with the query."""
        words = [w for w in set(query.split()) if w in self.postings]
        rare = [w for w in words if len(self.postings[w]) <= self.common]
        if not rare:
            rare = sorted(words, key=lambda w: len(self.postings[w]))[:2]
        shared: Counter[int] = Counter()
        for word in rare:
            weight = self.weight[word]
            for index in self.postings[word]:
                shared[index] += weight
        return [index for index, _ in shared.most_common(BLOCK)]

    def matches_for(self, sf: SalesforceSide) -> list[Match]:
        """The proposals for one Salesforce opportunity, best first: word-index block, title
        shortlist in C++ (score cutoff), then every signal on the shortlist only."""
        query = title_key(sf.name, sf.account_name)
        if not query or not self.titles:
            return []
        block = self.block(query)
        shortlist = process.extract(query, [self.titles[i] for i in block], scorer=fuzz.token_set_ratio,
                                    score_cutoff=TITLE_CUTOFF, limit=SHORTLIST)
        scored = [score_pair(sf, self.candidates[block[position]], sf_norm=query, cothon_norm=self.titles[block[position]])
                  for _, _, position in shortlist]
        return best(scored)


def best(matches: Sequence[Match]) -> list[Match]:
    """Those above MIN_SCORE, best first (ties: better title, then lower Cothon id), ranked."""
    kept = sorted((m for m in matches if m.score >= MIN_SCORE), key=lambda m: (-m.score, -m.title_score, m.cothon_id))
    kept = kept[:KEEP_PER_SALESFORCE]
    for position, match in enumerate(kept, start=1):
        match.rank = position
    return kept


def naive_matches_for(sf: SalesforceSide, candidates: Sequence[CothonSide]) -> list[Match]:
    """The baseline without blocking: every signal for every pair, in Python, then the same
    title rule (the benchmark's comparison; the same proposals as `CothonIndex.matches_for`
    while no more than SHORTLIST titles clear TITLE_CUTOFF)."""
    return best([m for m in (score_pair(sf, c) for c in candidates) if m.evidence["title"]["overlap"] >= TITLE_CUTOFF])
