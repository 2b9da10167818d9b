"""Routing pages: under a connection's settings (admins), the demo outbox, and the credit
application sign page of an appointment (its rep or an admin). Included at the site root."""

from django.urls import path

from sync_engine.appointments import routing_views as views

app_name = "sync_appointments_routing"
urlpatterns = [
    path("settings/integrations/salesforce/<int:pk>/routing/", views.routing_index, name="index"),
    path("settings/integrations/salesforce/<int:pk>/routing/files/", views.routed_files, name="files"),
    path("settings/integrations/salesforce/<int:pk>/routing/files/<int:file_pk>/retry/", views.routed_file_retry, name="retry"),
    path("settings/integrations/salesforce/<int:pk>/routing/files/<int:file_pk>/download/", views.routed_file_download,
         name="download"),
    path("settings/integrations/salesforce/<int:pk>/routing/picklist/", views.picklist_load, name="picklist"),
    path("settings/integrations/salesforce/<int:pk>/routing/<str:kind>/", views.routing_edit, name="edit"),
    path("settings/integrations/outbox/", views.outbox, name="outbox"),
    path("appointments/<int:appointment_pk>/credit-application/", views.credit_app_sign, name="credit_app"),
    path("appointments/<int:appointment_pk>/send-document/", views.document_send, name="document_send"),
]
