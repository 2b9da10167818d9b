"""Quotes and appointments no longer store their Salesforce id: it becomes a SyncLink, like every
other record's (sync_engine owns link state).

Forward: each quote's `salesforce_opportunity_id` becomes a link (record type "quote", the
connection's Opportunity object) and each appointment's `salesforce_id` a link (record type
"appointment", the connection's appointment object, "i360__Appointment__c" unless configured)
— in the connection the appointment was pulled from when it still exists, else in the tenant's
default connection. A link needs a connection; a tenant with none keeps its ids in HeldLink
(nothing is lost, the API still shows them, and they become links on its default connection's
next run). The fields are removed afterwards (opportunities 0004, proposals 0003).

Reverse: the ids go back on the records, from the links and held rows this migration made."""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

# Which settings key names each record type's Salesforce object, and its default.
OBJECTS = {"quote": ("opportunity", "Opportunity"), "appointment": ("appointment", "i360__Appointment__c")}


def _sobject(apps, connection, record_type: str) -> str:
    key, default = OBJECTS[record_type]
    Version = apps.get_model("integrations", "ConnectionSettingsVersion")
    current = Version.objects.filter(connection=connection).order_by("-version").first()
    objects = ((current.data if current else None) or {}).get("objects") or {}
    return objects.get(key) or default


def ids_to_links(apps, schema_editor):
    Quote = apps.get_model("proposals", "Quote")
    Appointment = apps.get_model("opportunities", "Appointment")
    Connection = apps.get_model("integrations", "SalesforceConnection")
    SyncLink = apps.get_model("sync_engine", "SyncLink")
    HeldLink = apps.get_model("sync_engine", "HeldLink")
    defaults = {c.tenant_id: c for c in Connection.objects.filter(is_default=True)}
    connections = {c.pk: c for c in Connection.objects.all()}
    now = timezone.now()
    rows = [("quote", q.tenant_id, q.pk, q.salesforce_opportunity_id, None)
            for q in Quote.objects.exclude(salesforce_opportunity_id="").only("tenant_id", "salesforce_opportunity_id")]
    rows += [("appointment", a.tenant_id, a.pk, a.salesforce_id, a.connection_id)
             for a in Appointment.objects.exclude(salesforce_id="").only("tenant_id", "salesforce_id", "connection_id")]
    for record_type, tenant_id, record_id, salesforce_id, connection_id in rows:
        connection = connections.get(connection_id)
        if connection is None or connection.tenant_id != tenant_id:
            connection = defaults.get(tenant_id)
        if connection is None:
            HeldLink.objects.get_or_create(tenant_id=tenant_id, record_type=record_type, record_id=record_id,
                                           sobject=OBJECTS[record_type][1], defaults={"salesforce_id": salesforce_id})
            continue
        SyncLink.objects.get_or_create(
            connection=connection, record_type=record_type, record_id=record_id,
            sobject=_sobject(apps, connection, record_type),
            defaults={"tenant_id": tenant_id, "salesforce_id": salesforce_id, "status": "synced",
                      "last_synced_at": now})


def links_to_ids(apps, schema_editor):
    Quote = apps.get_model("proposals", "Quote")
    Appointment = apps.get_model("opportunities", "Appointment")
    SyncLink = apps.get_model("sync_engine", "SyncLink")
    HeldLink = apps.get_model("sync_engine", "HeldLink")
    for model, record_type, field in ((Quote, "quote", "salesforce_opportunity_id"),
                                      (Appointment, "appointment", "salesforce_id")):
        held = HeldLink.objects.filter(record_type=record_type).values_list("record_id", "salesforce_id")
        # Default connection's links last, so they win where a record has several.
        linked = SyncLink.objects.filter(record_type=record_type).exclude(salesforce_id="").order_by(
            "connection__is_default", "id").values_list("record_id", "salesforce_id")
        for record_id, salesforce_id in [*held, *linked]:
            model.objects.filter(pk=record_id).update(**{field: salesforce_id})


class Migration(migrations.Migration):

    dependencies = [
        ('cothon', '0001_initial'),
        ('integrations', '0001_initial'),
        ('sync_engine', '0003_leases_wakeups_run_rows'),
        ('opportunities', '0003_appointment_unique_sf_id_to_sync_engine'),
        ('proposals', '0002_quote_numeric_bounds'),
    ]

    operations = [
        migrations.CreateModel(
            name='HeldLink',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('record_type', models.CharField(choices=[('department', 'Department'), ('contact', 'Contact'), ('opportunity', 'Opportunity'), ('analysis', 'Bid analysis'), ('requirement', 'Requirement'), ('comment', 'Comment'), ('proposal', 'Proposal'), ('quote', 'Quote'), ('appointment', 'Appointment')], max_length=20)),
                ('record_id', models.BigIntegerField()),
                ('sobject', models.CharField(max_length=80)),
                ('salesforce_id', models.CharField(max_length=18)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.AddConstraint(
            model_name='synclink',
            constraint=models.UniqueConstraint(condition=models.Q(('record_type', 'appointment'), models.Q(('salesforce_id', ''), _negated=True)), fields=('connection', 'sobject', 'salesforce_id'), name='link_unique_appointment_sf_id'),
        ),
        migrations.AddField(
            model_name='heldlink',
            name='tenant',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='cothon.tenant'),
        ),
        migrations.AddConstraint(
            model_name='heldlink',
            constraint=models.UniqueConstraint(fields=('tenant', 'record_type', 'record_id', 'sobject'), name='heldlink_unique_record'),
        ),
        migrations.RunPython(ids_to_links, links_to_ids),
    ]
