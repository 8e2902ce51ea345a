# The invoices' dunning state moves from ledger.Invoice to its own narrow table (see
# InvoiceSchedule); reminder lines and tasks point to invoices without a database constraint.

import django.db.models.deletion
from django.db import migrations, models

COPY = """
INSERT INTO dunning_invoiceschedule (invoice_id, organisation_id, last_step, last_date, next_date)
SELECT id, organisation_id, dunning_last_step, dunning_last_date, dunning_next_date FROM ledger_invoice
WHERE dunning_last_step <> '' OR dunning_next_date IS NOT NULL
"""
FLAG = "UPDATE ledger_invoice SET dunning_scheduled = TRUE WHERE id IN (SELECT invoice_id FROM dunning_invoiceschedule)"
COPY_BACK = """
UPDATE ledger_invoice SET
  dunning_last_step = COALESCE((SELECT s.last_step FROM dunning_invoiceschedule s WHERE s.invoice_id = ledger_invoice.id), ''),
  dunning_last_date = (SELECT s.last_date FROM dunning_invoiceschedule s WHERE s.invoice_id = ledger_invoice.id),
  dunning_next_date = (SELECT s.next_date FROM dunning_invoiceschedule s WHERE s.invoice_id = ledger_invoice.id)
WHERE dunning_scheduled
"""


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('dunning', '0005_drop_old_unplanned_index'),
        ('ledger', '0004_invoice_dunning_scheduled'),
    ]

    operations = [
        migrations.AlterField(
            model_name='reminderline',
            name='invoice',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='reminder_lines', to='ledger.invoice'),
        ),
        migrations.AlterField(
            model_name='task',
            name='invoices',
            field=models.ManyToManyField(blank=True, db_constraint=False, related_name='tasks', to='ledger.invoice'),
        ),
        migrations.CreateModel(
            name='InvoiceSchedule',
            fields=[
                ('invoice', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='schedule', serialize=False, to='ledger.invoice')),
                ('last_step', models.CharField(blank=True, max_length=40)),
                ('last_date', models.DateField(blank=True, null=True)),
                ('next_date', models.DateField(blank=True, null=True)),
                ('organisation', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.organisation')),
            ],
            options={
                'indexes': [models.Index(condition=models.Q(('next_date__isnull', False)), fields=['organisation', 'next_date'], name='schedule_next_date')],
            },
        ),
        migrations.RunSQL(COPY, reverse_sql=COPY_BACK),
        migrations.RunSQL(FLAG, reverse_sql=migrations.RunSQL.noop),
    ]
