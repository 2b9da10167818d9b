"""How Cothon records map to Salesforce: the field catalog, the default settings, validation
against the org's describe, and payload building (used by the dry run and the push engine)."""
