# The dunning state moves to dunning.InvoiceSchedule (dunning 0006 copies it, ledger 0005 drops the
# old columns); the invoice keeps only whether it is scheduled, indexed for the open ones that are not.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('ledger', '0003_invoice_unplanned_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='invoice',
            name='dunning_scheduled',
            field=models.BooleanField(default=False),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(
                condition=models.Q(('dunning_scheduled', False), ('status__in', ['open', 'partly_paid', 'disputed'])),
                fields=['organisation'],
                name='invoice_unscheduled',
            ),
        ),
    ]
