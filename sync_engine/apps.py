from django.apps import AppConfig


class SyncEngineConfig(AppConfig):
    name = "sync_engine"
