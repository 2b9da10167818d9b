from django.apps import AppConfig


class ValidationConfig(AppConfig):
    name = "sync_engine.validation"
    label = "sync_validation"
    verbose_name = "Daily validation"
    default_auto_field = "django.db.models.BigAutoField"
