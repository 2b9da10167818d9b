from django.apps import AppConfig


class PullConfig(AppConfig):
    name = "sync_engine.pull"
    label = "sync_pull"
    verbose_name = "Salesforce → Cothon pull"
    default_auto_field = "django.db.models.BigAutoField"
