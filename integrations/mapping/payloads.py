"""The names other modules used before the payloads were split one module per record type
(integrations/mapping/<record type>.py). New code imports the record type's module."""

from __future__ import annotations

from integrations.mapping.account import department_external_key
from integrations.mapping.account import to_salesforce as department_write
from integrations.mapping.common import ELLIPSIS, MappingContext, PlannedWrite
from integrations.mapping.opportunity import amount_for
from integrations.mapping.opportunity import to_salesforce as opportunity_write

__all__ = ["ELLIPSIS", "MappingContext", "PlannedWrite", "amount_for", "department_external_key", "department_write",
           "opportunity_write"]
