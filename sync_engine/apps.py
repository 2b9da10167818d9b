from django.apps import AppConfig


class SyncEngineConfig(AppConfig):
    name = "sync_engine"

    def ready(self) -> None:
        from integrations.signals import connection_reconnected
        from sync_engine.receivers import on_connection_reconnected

        connection_reconnected.connect(on_connection_reconnected, dispatch_uid="sync_engine.catch_up_after_reconnect")
