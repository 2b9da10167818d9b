"""Benchmark of the SOQL engine over an in-memory org: `python -m salesforce_emulator.soql.bench`.

Prints how long typical queries take over 10,000 opportunities and 1,000 accounts, the size the
emulator must answer a 2,000-row page for quickly. A figure, not a test: it asserts nothing.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

from . import execute
from .interface import ChildRelationshipInfo, FieldInfo, ObjectInfo
from .literals import to_18


_DATETIME = "%Y-%m-%dT%H:%M:%S.000+0000"


class _Org:
    def __init__(self, opportunities: int, accounts: int, seed: int = 7) -> None:
        rnd = random.Random(seed)
        f = FieldInfo
        self.schema = {
            "account": ObjectInfo("Account", {
                "id": f("Id", "id"), "name": f("Name", "string"), "industry": f("Industry", "picklist"),
                "ownerid": f("OwnerId", "reference", ("User",), "Owner"),
            }, {"opportunities": ChildRelationshipInfo("Opportunities", "Opportunity", "AccountId")}),
            "user": ObjectInfo("User", {"id": f("Id", "id"), "name": f("Name", "string")}),
            "opportunity": ObjectInfo("Opportunity", {
                "id": f("Id", "id"), "name": f("Name", "string"), "amount": f("Amount", "currency"),
                "stagename": f("StageName", "picklist"), "closedate": f("CloseDate", "date"),
                "accountid": f("AccountId", "reference", ("Account",), "Account"),
                "createddate": f("CreatedDate", "datetime"),
            }),
        }
        users = [{"Id": to_18(f"005{n:012d}"), "Name": f"User {n}"} for n in range(20)]
        accounts = [
            {"Id": to_18(f"001{n:012d}"), "Name": f"Account {n:05d}",
             "Industry": rnd.choice(["Tech", "Retail", None]), "OwnerId": rnd.choice(users)["Id"]}
            for n in range(accounts)
        ]
        start = datetime(2023, 1, 1, tzinfo=timezone.utc)
        self.data = {
            "User": users,
            "Account": accounts,
            "Opportunity": [
                {"Id": to_18(f"006{n:012d}"), "Name": f"Deal {rnd.randrange(10**6):06d}",
                 "Amount": rnd.choice([None, round(rnd.uniform(0, 10000), 2)]),
                 "StageName": rnd.choice(["Prospecting", "Closed Won", "Closed Lost"]),
                 "CloseDate": (date(2024, 1, 1) + timedelta(days=rnd.randrange(365))).isoformat(),
                 "AccountId": rnd.choice(accounts)["Id"] if rnd.random() > 0.05 else None,
                 "CreatedDate": (start + timedelta(minutes=rnd.randrange(10**6))).strftime(_DATETIME)}
                for n in range(opportunities)
            ],
        }

    def object_info(self, name: str) -> ObjectInfo | None:
        return self.schema.get(name.lower())

    def records(self, object_name: str, *, include_deleted: bool = False,
                equals: dict[str, frozenset[Any]] | None = None) -> Iterator[dict[str, Any]]:
        rows = self.data.get(object_name, [])
        if equals and set(equals) == {"id"}:  # what a store's primary-key index does
            wanted = equals["id"]
            return (r for r in rows if r["Id"] in wanted)
        return iter(rows)

    def record_by_id(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        return None

    def now(self) -> datetime:
        return datetime(2024, 6, 1, tzinfo=timezone.utc)


QUERIES = [
    "SELECT Id, Name, Amount, Account.Name FROM Opportunity WHERE Amount > 100 ORDER BY Name LIMIT 2000",
    "SELECT Id, Name FROM Opportunity WHERE CloseDate = LAST_N_DAYS:90 AND StageName IN ('Prospecting', 'Won')",
    "SELECT Id, Name FROM Opportunity WHERE Account.Owner.Name = 'User 3' ORDER BY CreatedDate DESC",
    "SELECT StageName, COUNT(Id), SUM(Amount) FROM Opportunity GROUP BY StageName",
    "SELECT Id, Name, (SELECT Id, Amount FROM Opportunities ORDER BY Amount DESC LIMIT 3) "
    "FROM Account LIMIT 200",
]


def main(runs: int = 7) -> None:
    org = _Org(opportunities=10_000, accounts=1_000)
    for soql in QUERIES:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            result = execute(soql, org)
            times.append(time.perf_counter() - started)
        print(f"{statistics.median(times) * 1000:7.1f} ms median, {min(times) * 1000:7.1f} ms best, "
              f"{result.total_size:5d} rows  {soql}")


if __name__ == "__main__":
    main()
