from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "sync_engine.alerts"
    label = "sync_alerts"
    verbose_name = "Alerts (e-mail and signed webhook per incident)"
    default_auto_field = "django.db.models.BigAutoField"
