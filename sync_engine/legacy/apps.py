from django.apps import AppConfig


class LegacyConfig(AppConfig):
    name = "sync_engine.legacy"
    label = "sync_legacy"
    verbose_name = "Match Legacy Records"
    default_auto_field = "django.db.models.BigAutoField"
