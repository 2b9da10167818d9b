from django.apps import AppConfig


class CothonConfig(AppConfig):
    name = "cothon"
    verbose_name = "Cothon core"
