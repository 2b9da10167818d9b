"""Connect the demo tenants to the local emulator's orgs, through the normal services.

Used by `make run`: tenant 1 → the emulator's demo org, tenant 2 → its sandbox org (two tenants
must not share an org: their Cothon_Ref__c upserts would collide). Idempotent: a re-run refreshes
stored URLs (ports may change) and reconnects; then the first full sync runs in this process,
so the demo records are in Salesforce when `make run` prints the URL."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cothon.models import Tenant
from demo.accounts import DEMO_TENANTS
from integrations import connections as svc
from integrations.mapping.suggest import picklist_values, suggest_picklist_reverse, suggest_stage_mapping, suggest_value_map
from integrations.models import Environment, SalesforceConnection
from integrations.salesforce.errors import SalesforceError
from integrations.sync_settings import describe_get, settings_save, sync_settings_for
from opportunities.models import Category
from sync_engine.models import SyncRun, SyncRunStatus
from sync_engine.services import sync_now_start, sync_run_execute_inline


class Command(BaseCommand):
    help = "Connect the demo tenants to the local Salesforce emulator and run the first full sync."

    def add_arguments(self, parser):
        parser.add_argument("--demo-credentials", required=True, help="JSON from `python -m salesforce_emulator credentials --org demo`")
        parser.add_argument("--sandbox-credentials", required=True, help="JSON from `… credentials --org sandbox`")
        parser.add_argument("--no-sync", action="store_true", help="Connect only; skip the first full sync.")

    def handle(self, *args, **options):
        pairs = [(DEMO_TENANTS[0].slug, options["demo_credentials"], "Emulator demo org"),
                 (DEMO_TENANTS[1].slug, options["sandbox_credentials"], "Emulator sandbox org")]
        for slug, path, name in pairs:
            creds = json.loads(Path(path).read_text())
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                raise CommandError(f"Demo tenant {slug!r} is missing: run `manage.py seed_demo` first.")
            connection = self._connect(tenant, creds, name)
            self._confirm_mappings(connection)
            self._outbound_rules(connection, creds)
            if slug == DEMO_TENANTS[0].slug:
                self._quotes(connection)
            if not options["no_sync"]:
                self._first_sync(connection)
                if slug == DEMO_TENANTS[0].slug:
                    self._legacy_records(connection)
            if slug == DEMO_TENANTS[0].slug:
                self._appointments(connection)
                self._routing_rules(connection)

    def _connect(self, tenant: Tenant, creds: dict, name: str) -> SalesforceConnection:
        admin = tenant.memberships.filter(role="admin").first()
        actor = admin.user if admin else None
        connection = SalesforceConnection.objects.filter(tenant=tenant, name=name).first()
        if connection is None:
            connection = svc.connection_create(
                tenant=tenant, name=name, environment=Environment.CUSTOM, login_url=creds["login_url"],
                client_id=creds["client_id"], client_secret=creds["client_secret"], ca_bundle_path=creds["ca_bundle"],
                is_default=True, push_enabled=True, actor=actor)
        else:
            # Ports may have changed since the last run: keep the stored URLs current.
            connection.login_url = creds["login_url"]
            connection.ca_bundle_path = creds["ca_bundle"]
            connection.save(update_fields=["login_url", "ca_bundle_path", "updated_at"])
        if connection.status == "disconnected" and connection.connected_at is not None:
            self.stdout.write(f"{tenant.name}: “{name}” was disconnected by an admin; leaving it so.")
            return connection
        try:
            connection = svc.connection_connect_client_credentials(connection=connection, actor=actor)
        except SalesforceError as exc:
            raise CommandError(f"Could not connect {tenant.name} to the emulator: {exc.code}: {exc.message}") from exc
        self.stdout.write(f"{tenant.name}: connected to {name} ({connection.org_id}) at {connection.instance_url}")
        return connection

    def _confirm_mappings(self, connection: SalesforceConnection) -> None:
        """The sandbox has Salesforce's standard stages and Type values: confirm the best
        matches, as an admin would in the stage-mapping screen."""
        if connection.status != "connected":
            return
        settings = sync_settings_for(connection=connection)
        describe = describe_get(connection=connection, sobject=settings.objects.opportunity)
        stages = picklist_values(describe, "StageName")
        types = picklist_values(describe, "Type")
        data = settings.to_dict()  # the new version, edited below
        changed = False
        if any(stage not in stages for stage in settings.stage_mapping.values()):
            data["stage_mapping"] = suggest_stage_mapping(stages)
            changed = True
        current = settings.picklist_maps.get("category_to_type", {})
        if any(value and value not in types for value in current.values()):
            type_map = suggest_value_map(dict(Category.choices), types, current)
            data["picklist_maps"]["category_to_type"] = type_map
            # Several categories may land on one Type: say which one each such Type comes back as.
            reverse = settings.picklist_reverse.get("category_to_type", {})
            data["picklist_reverse"]["category_to_type"] = suggest_picklist_reverse(type_map, reverse)
            changed = True
        if changed:
            admin = connection.tenant.memberships.filter(role="admin").first()
            settings_save(connection=connection, data=data, actor=admin.user if admin else None)
            self.stdout.write(f"{connection.tenant.name}: stage and Type mappings confirmed for the org's values.")

    def _outbound_rules(self, connection: SalesforceConnection, creds: dict) -> None:
        """Real-time pull for the demo: the org's Outbound Message + workflow rule pointing at
        this Cothon (COTHON_BASE_URL). Best effort: without it, changes arrive with the
        incremental pull."""
        if connection.status != "connected":
            return
        from sync_engine.pull.rules import ensure_outbound_rules

        try:
            result = ensure_outbound_rules(connection=connection)
        except SalesforceError as exc:
            self.stdout.write(f"{connection.tenant.name}: real-time updates from Salesforce not switched on "
                              f"({exc.code}: {exc.message}); the incremental pull brings changes every few minutes.")
            return
        self.stdout.write(f"{connection.tenant.name}: real-time updates from Salesforce — Outbound Message {result.message}, "
                          f"workflow rule {result.rule}.")

    def _quotes(self, connection: SalesforceConnection) -> None:
        """The quote flow for the demo org (demo/quotes.py): settings, custom quote fields and
        the org's flow + outbound message. Best effort: the rest of the demo works without it."""
        if connection.status != "connected":
            return
        from django.core.exceptions import ValidationError

        from demo.quotes import seed_quote_settings

        try:
            line = seed_quote_settings(connection=connection)
        except (SalesforceError, ValidationError) as exc:
            line = f"quote settings not set up ({exc})"
        self.stdout.write(f"{connection.tenant.name}: {line}")

    def _legacy_records(self, connection: SalesforceConnection) -> None:
        """Six opportunities typed into the demo org before Cothon, and their Cothon twins, for
        Settings › Integrations › Salesforce › Legacy records (demo/legacy.py)."""
        if connection.status != "connected":
            return
        from demo.legacy import seed_legacy_records

        try:
            line = seed_legacy_records(connection=connection)
        except SalesforceError as exc:
            line = f"legacy records not set up ({exc.code}: {exc.message})"
        self.stdout.write(f"{connection.tenant.name}: {line}")

    def _appointments(self, connection: SalesforceConnection) -> None:
        """The demo org's improveit 360 appointments for the demo reps (demo/appointments.py)."""
        if connection.status != "connected":
            return
        from demo.appointments import seed_appointments

        try:
            line = seed_appointments(connection=connection)
        except SalesforceError as exc:
            line = f"appointments not set up ({exc.code}: {exc.message})"
        self.stdout.write(f"{connection.tenant.name}: {line}")

    def _routing_rules(self, connection: SalesforceConnection) -> None:
        """Document, results and credit application routing on the demo org (demo/routing.py)."""
        if connection.status != "connected":
            return
        from demo.routing import seed_routing_rules

        try:
            line = seed_routing_rules(connection=connection)
        except (ValidationError, SalesforceError) as exc:
            line = f"routing rules not set up ({exc})"
        self.stdout.write(f"{connection.tenant.name}: {line}")

    def _first_sync(self, connection: SalesforceConnection) -> None:
        if connection.status != "connected":
            return
        if SyncRun.objects.filter(connection=connection, status__in=[SyncRunStatus.SUCCEEDED, SyncRunStatus.FINISHED_WITH_ERRORS]).exists():
            return  # already synced once; the workers keep it in step from here
        with transaction.atomic():
            run = sync_now_start(connection=connection, kind="full", actor=None, enqueue=False)
        run = sync_run_execute_inline(run=run)
        self.stdout.write(f"{connection.tenant.name}: first full sync {run.get_status_display().lower()} — "
                          f"{run.succeeded} records, {run.failed} failed, {run.api_calls} API calls.")
