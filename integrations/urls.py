from django.urls import path

from integrations import views

app_name = "integrations"
urlpatterns = [
    path("", views.integration_settings, name="index"),
]
