# After dunning 0006 has copied them to dunning.InvoiceSchedule.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0004_invoice_dunning_scheduled'),
        ('dunning', '0006_invoice_schedule'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='invoice',
            name='invoice_next_dunning',
        ),
        migrations.RemoveIndex(
            model_name='invoice',
            name='invoice_unplanned',
        ),
        migrations.RemoveField(
            model_name='invoice',
            name='dunning_last_date',
        ),
        migrations.RemoveField(
            model_name='invoice',
            name='dunning_last_step',
        ),
        migrations.RemoveField(
            model_name='invoice',
            name='dunning_next_date',
        ),
    ]
