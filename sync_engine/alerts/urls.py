from django.urls import path

from sync_engine.alerts import views

app_name = "sync_alerts"
urlpatterns = [
    path("", views.alert_settings, name="settings"),
    path("secret/", views.secret_rotate, name="rotate_secret"),
    path("test/", views.test_send, name="test"),
    path("deliveries/<int:pk>/retry/", views.delivery_retry, name="retry"),
]
