# The customer's explicit scenario closes the cycle ledger <-> dunning, hence this second step.
# The daily run rewrites tens of thousands of customers' risk scores. With room left in each page
# (fillfactor, PostgreSQL only) and no index on the score columns, PostgreSQL rewrites a row in
# its own page without touching the indexes (a "HOT" update). `VACUUM FULL ledger_customer`
# applies it to a table filled before.

import django.db.models.deletion
from django.db import migrations, models


def leave_room(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE ledger_customer SET (fillfactor = 80)")


def fill_up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE ledger_customer RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ('dunning', '0001_initial'),
        ('ledger', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='customer',
            name='scenario',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='customers', to='dunning.scenario'),
        ),
        migrations.RunPython(leave_room, fill_up),
    ]
