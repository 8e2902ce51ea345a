# Databases that ran the former 0004 have the raw-SQL `dunning_invoice_unplanned` index; ledger 0003
# created its replacement `invoice_unplanned` (same columns and condition). Drop the old one so that
# every database ends with exactly one. IF EXISTS: new databases never had it.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('dunning', '0004_invoice_unplanned_index'),
        ('ledger', '0003_invoice_unplanned_index'),
    ]

    operations = [
        migrations.RunSQL(
            "DROP INDEX IF EXISTS dunning_invoice_unplanned",
            # Going back to 0004 (a no-op now) needs no old index: ledger 0003's serves until it is reverted.
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
