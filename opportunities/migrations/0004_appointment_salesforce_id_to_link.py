# An appointment's Salesforce id is a SyncLink now (moved by sync_engine 0004).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('opportunities', '0003_appointment_unique_sf_id_to_sync_engine'),
        ('sync_engine', '0004_quote_appointment_links'),
    ]

    operations = [
        # blank first, so a reverse migration can add the column back to existing rows (as "")
        # before sync_engine 0004 puts the ids back.
        migrations.AlterField(
            model_name='appointment',
            name='salesforce_id',
            field=models.CharField(blank=True, max_length=18),
        ),
        migrations.RemoveField(
            model_name='appointment',
            name='salesforce_id',
        ),
    ]
