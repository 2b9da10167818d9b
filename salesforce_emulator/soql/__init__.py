"""The emulator's SOQL engine: parse, resolve against the store's schema, evaluate.

    result = execute("SELECT Id, Account.Name FROM Opportunity WHERE Amount > 100", source)
    result.total_size, result.records  # records in Salesforce REST JSON shape

The store implements `interface.SoqlDataSource`; errors are `SoqlError(error_code, message)`
worded as Salesforce words them. Paging (2,000-row pages, nextRecordsUrl) is the REST layer's.
"""

from __future__ import annotations

from .errors import SoqlError
from .evaluator import Execution, QueryResult
from .interface import SoqlDataSource
from .nodes import Query
from .parser import parse
from .semantic import Resolver

__all__ = ["QueryResult", "SoqlError", "execute", "parse"]


def execute(
    soql: str,
    source: SoqlDataSource,
    *,
    api_version: str = "59.0",
    include_deleted: bool = False,
) -> QueryResult:
    """Run a SOQL query. `include_deleted=True` is queryAll (as is `ALL ROWS` in the query)."""
    query: Query = parse(soql)
    resolved = Resolver(soql, source).resolve(query)
    execution = Execution(
        source, api_version=api_version, include_deleted=include_deleted or resolved.all_rows
    )
    return execution.run(resolved)
