"""Settings › Integrations › Salesforce: connections, their health, users, sync settings,
dry run and custom fields. Reads go through integrations/selectors.py, every change through
the services (connections, sync_settings, user_links, custom_fields, dry_run); every lookup is
scoped to request.tenant, so another tenant's connection id is a 404."""

from integrations.views.common import integration_settings
from integrations.views.conflicts import conflicts_csv, conflicts_page, conflicts_resolve
from integrations.views.connections import (
    connect,
    connection_account_cache_clear,
    connection_detail,
    connection_disconnect,
    connection_make_default,
    connection_reconnect,
    connection_refresh,
    connection_update,
    oauth_callback,
    user_links_prefill_view,
    user_links_save,
)
from integrations.views.settings import settings_compare_view, settings_edit, settings_history, settings_restore_view
from integrations.views.tools import custom_fields, dry_run_view

__all__ = [
    "conflicts_csv", "conflicts_page", "conflicts_resolve", "connect", "connection_account_cache_clear", "connection_detail", "connection_disconnect", "connection_make_default", "connection_reconnect",
    "connection_refresh", "connection_update", "custom_fields", "dry_run_view", "integration_settings", "oauth_callback",
    "settings_compare_view", "settings_edit", "settings_history", "settings_restore_view", "user_links_prefill_view",
    "user_links_save",
]
