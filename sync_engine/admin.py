from django.contrib import admin

from opportunities.admin import ReadOnlyAdmin
from sync_engine.models import HeldLink, OutboxEntry, SyncLink


@admin.register(OutboxEntry)
class OutboxEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "tenant", "connection", "record_type", "record_id", "event", "state", "priority", "attempts", "available_at"]
    list_filter = ["state", "record_type", "priority"]


@admin.register(SyncLink)
class SyncLinkAdmin(ReadOnlyAdmin):
    list_display = ["record_type", "record_id", "connection", "sobject", "salesforce_id", "status", "last_synced_at"]
    list_filter = ["status", "record_type"]


@admin.register(HeldLink)
class HeldLinkAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "record_type", "record_id", "sobject", "salesforce_id", "created_at"]
    list_filter = ["record_type"]
