from django.apps import AppConfig


class PullConfig(AppConfig):
    name = "sync_engine.pull"
    label = "sync_pull"
    verbose_name = "Salesforce → Cothon pull"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integrations.signals import connection_connected, settings_saved
        from sync_engine.pull.receivers import on_connection_connected, on_settings_saved

        connection_connected.connect(on_connection_connected, dispatch_uid="sync_pull.rules_on_connect")
        settings_saved.connect(on_settings_saved, dispatch_uid="sync_pull.rules_on_settings_saved")
