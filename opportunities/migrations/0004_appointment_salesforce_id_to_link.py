# An appointment's Salesforce id is a SyncLink now (moved by sync_engine 0004).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('opportunities', '0003_appointment_unique_sf_id_to_sync_engine'),
        ('sync_engine', '0004_quote_appointment_links'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='appointment',
            name='salesforce_id',
        ),
    ]
