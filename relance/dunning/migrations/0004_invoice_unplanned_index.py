# The daily run reads the invoices never planned yet (just imported: no next date and no step
# done) through this partial index instead of scanning the ledger. It sits on ledger_invoice but
# is created here, by the dunning app that reads it; IF NOT EXISTS lets the ledger app adopt it
# later in Invoice.Meta.indexes under the same name.

from django.db import migrations

SQL = (
    "CREATE INDEX IF NOT EXISTS dunning_invoice_unplanned ON ledger_invoice (organisation_id) "
    "WHERE dunning_next_date IS NULL AND dunning_last_step = ''"
)


class Migration(migrations.Migration):

    dependencies = [
        ('dunning', '0003_engine_state'),
        ('ledger', '0001_initial'),
    ]

    operations = [
        migrations.RunSQL(SQL, reverse_sql="DROP INDEX IF EXISTS dunning_invoice_unplanned"),
    ]
