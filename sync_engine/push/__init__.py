"""Pushing Cothon records to Salesforce: accounts, opportunities, analyses, requirements,
activities and files, in that order (parents before children)."""
