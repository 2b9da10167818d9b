from django.urls import path

from opportunities import dashboard_views

app_name = "dashboard"
urlpatterns = [
    path("", dashboard_views.dashboard, name="index"),
    # One CSV per panel (funnel, compliance, departments, closing, gauge, win-rate); another name is a 404.
    path("<slug:panel>.csv", dashboard_views.panel_csv, name="panel_csv"),
]
