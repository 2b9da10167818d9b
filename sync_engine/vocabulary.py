"""The sync engine's shared vocabulary: what a change is about and where it came from.

A leaf module (it imports only Django's choices), so domain services may import it to record a
change without pulling in the sync engine or `integrations/`. The values are stable: they are
stored in outbox rows, links and logs."""

from __future__ import annotations

from django.db import models


class RecordType(models.TextChoices):
    """Local record kinds that sync."""

    DEPARTMENT = "department", "Department"
    CONTACT = "contact", "Contact"
    OPPORTUNITY = "opportunity", "Opportunity"
    ANALYSIS = "analysis", "Bid analysis"
    REQUIREMENT = "requirement", "Requirement"
    COMMENT = "comment", "Comment"
    PROPOSAL = "proposal", "Proposal"
    QUOTE = "quote", "Quote"
    APPOINTMENT = "appointment", "Appointment"


class Priority(models.IntegerChoices):
    """Lower runs first. Manual and real-time work outranks background runs."""

    MANUAL = 0, "Manual"
    REALTIME = 1, "Real-time"
    INCREMENTAL = 2, "Incremental"
    RECONCILIATION = 3, "Reconciliation"
    FULL = 4, "Full sync"


class Event(models.TextChoices):
    """What happened to the record. A pending row keeps the strongest event when changes merge:
    `deleted` beats everything, `created` stays `created` until pushed."""

    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    DELETED = "deleted", "Deleted"
    COMPLETED = "completed", "Completed"  # a bid analysis finished
    GENERATED = "generated", "Generated"  # a proposal document was generated
    SUBMITTED = "submitted", "Submitted"  # a proposal was submitted
    DEADLINE = "deadline", "Deadline approaching"
    SYNC = "sync", "Sync requested"  # queued by a Sync Now / scheduled run, not by an edit


class Origin(models.TextChoices):
    """Where a change was made. A change applied from Salesforce is never pushed back to the
    org it came from (other push-enabled orgs still receive it)."""

    COTHON = "cothon", "Cothon"
    SALESFORCE = "salesforce", "Salesforce"
