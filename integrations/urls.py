from django.urls import path

from integrations import views

app_name = "integrations"
urlpatterns = [
    path("", views.integration_settings, name="index"),
    path("salesforce/connect/", views.connect, name="connect"),
    path("salesforce/oauth/callback/", views.oauth_callback, name="oauth_callback"),
    path("salesforce/<int:pk>/", views.connection_detail, name="connection"),
    path("salesforce/<int:pk>/reconnect/", views.connection_reconnect, name="reconnect"),
    path("salesforce/<int:pk>/refresh/", views.connection_refresh, name="refresh"),
    path("salesforce/<int:pk>/account-cache/clear/", views.connection_account_cache_clear, name="account_cache_clear"),
    path("salesforce/<int:pk>/disconnect/", views.connection_disconnect, name="disconnect"),
    path("salesforce/<int:pk>/make-default/", views.connection_make_default, name="make_default"),
    path("salesforce/<int:pk>/update/", views.connection_update, name="update"),
    path("salesforce/<int:pk>/users/", views.user_links_save, name="user_links"),
    path("salesforce/<int:pk>/users/prefill/", views.user_links_prefill_view, name="user_links_prefill"),
    path("salesforce/<int:pk>/settings/", views.settings_edit, name="settings"),
    path("salesforce/<int:pk>/settings/history/", views.settings_history, name="settings_history"),
    path("salesforce/<int:pk>/settings/history/compare/", views.settings_compare_view, name="settings_compare"),
    path("salesforce/<int:pk>/settings/history/<int:version>/restore/", views.settings_restore_view, name="settings_restore"),
    path("salesforce/<int:pk>/dry-run/", views.dry_run_view, name="dry_run"),
    path("salesforce/<int:pk>/conflicts/", views.conflicts_page, name="conflicts"),
    path("salesforce/<int:pk>/conflicts/export.csv", views.conflicts_csv, name="conflicts_csv"),
    path("salesforce/<int:pk>/conflicts/resolve/", views.conflicts_resolve, name="conflicts_resolve"),
    path("salesforce/<int:pk>/custom-fields/", views.custom_fields, name="custom_fields"),
]
