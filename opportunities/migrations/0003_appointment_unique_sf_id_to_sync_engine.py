# The uniqueness of an appointment's Salesforce id moves to sync_engine's links
# (link_unique_appointment_sf_id, sync_engine 0004). Dropped before the data migration and the
# field removal (0004), so a reverse migration restores the ids before it restores this constraint.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('opportunities', '0002_numeric_bounds'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='appointment',
            name='appointment_unique_sf_id',
        ),
    ]
