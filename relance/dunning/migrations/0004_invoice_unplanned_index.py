# This migration used to create the `dunning_invoice_unplanned` partial index on ledger_invoice with
# raw SQL. The index now belongs to the ledger app (Invoice.Meta.indexes, `invoice_unplanned`,
# migration ledger 0003), so this step does nothing on a new database; it stays in the history for
# the databases that ran it, where 0005 drops the old index.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('dunning', '0003_engine_state'),
        ('ledger', '0001_initial'),
    ]

    operations = []
