from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo tenants, users and records, and the demo's connection to the local Salesforce org
    (`manage.py seed_demo`, `manage.py connect_demo_orgs`; `make run` calls both). An entry
    point: it sits above every layer and may import any of them; nothing imports it."""

    name = "demo"
    verbose_name = "Demo data"
