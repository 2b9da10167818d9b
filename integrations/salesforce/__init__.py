"""The one Salesforce client layer: every call to Salesforce passes through client.py."""
