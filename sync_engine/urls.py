from django.urls import path

from sync_engine import health_views, views

app_name = "sync"
urlpatterns = [
    path("", views.sync_index, name="index"),
    path("logs/", views.log_list, name="logs"),
    path("logs/export.csv", views.log_csv, name="logs_csv"),
    path("logs/failed/retry/", views.log_failed_action, {"action": "retry"}, name="logs_retry"),
    path("logs/failed/skip/", views.log_failed_action, {"action": "skip"}, name="logs_skip"),
    path("logs/<int:pk>/skip/", views.log_row_skip, name="log_row_skip"),
    path("records/<str:record_type>/<int:record_id>/history/", views.record_history, name="record_history"),
    path("record-runs/<int:pk>/", views.record_run_status, name="record_run_status"),
    path("connections/<int:pk>/sync-now/", views.sync_now, name="sync_now"),
    path("connections/<int:pk>/reconcile/", views.reconcile_now, name="reconcile"),
    path("connections/<int:pk>/runs/", views.run_list, name="run_list"),
    path("connections/<int:pk>/usage/", views.api_usage, name="usage"),
    path("connections/<int:pk>/health/", health_views.connection_health_page, name="health"),
    path("connections/<int:pk>/deleted-in-salesforce/", views.partner_gone, name="partner_gone"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
]
