# A quote's Salesforce opportunity id is a SyncLink now (moved by sync_engine 0004).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('proposals', '0002_quote_numeric_bounds'),
        ('sync_engine', '0004_quote_appointment_links'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='quote',
            name='salesforce_opportunity_id',
        ),
    ]
