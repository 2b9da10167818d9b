from django.core.management.base import BaseCommand

from demo.data import DEMO_PASSWORD, DEMO_TENANTS, seed_demo
from opportunities.selectors import opportunity_list


class Command(BaseCommand):
    help = "Create the demo tenants, users and opportunities (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--opportunities", type=int, default=50, help="Opportunities per tenant (default 50).")

    def handle(self, *args, **options):
        tenants = seed_demo(opportunities_per_tenant=options["opportunities"])
        for tenant in tenants:
            self.stdout.write(f"{tenant.name}: {opportunity_list(tenant=tenant).count()} opportunities")
        self.stdout.write(self.style.SUCCESS(f"Demo ready. Password for every demo user: {DEMO_PASSWORD}"))
        for spec in DEMO_TENANTS:
            self.stdout.write("  " + ", ".join(f"{u} ({r})" for u, _, _, r in spec.people))
