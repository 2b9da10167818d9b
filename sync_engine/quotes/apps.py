from django.apps import AppConfig


class QuotesConfig(AppConfig):
    name = "sync_engine.quotes"
    label = "sync_quotes"
    verbose_name = "Quotes from Salesforce (the 001 flow)"
    default_auto_field = "django.db.models.BigAutoField"
