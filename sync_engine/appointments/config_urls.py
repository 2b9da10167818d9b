"""Workflow › CRM and Appointments (namespace `appointments_config`; the pull's pages have their own)."""

from django.urls import path

from sync_engine.appointments import config_views as views

app_name = "appointments_config"
urlpatterns = [
    path("workflow/appointments/", views.workflow_entry, name="entry"),
    path("salesforce/<int:pk>/appointments/", views.config_page, name="page"),
    path("salesforce/<int:pk>/appointments/check/", views.config_check, name="check"),
    path("salesforce/<int:pk>/appointments/test/", views.config_test, name="test"),
    path("salesforce/<int:pk>/appointments/improveit/", views.config_improveit, name="improveit"),
    path("salesforce/<int:pk>/appointments/add-row/", views.config_add_row, name="add_row"),
    path("salesforce/<int:pk>/appointments/sign-on/", views.config_sign_on, name="sign_on"),
]
