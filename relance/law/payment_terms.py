"""Payment terms between businesses (Code de commerce L441-10 I). Pure.

- The default when the parties agreed none: « Sauf dispositions contraires figurant aux conditions
  de vente ou convenues entre les parties, le délai de règlement des sommes dues est fixé au
  trentième jour suivant la date de réception des marchandises ou d'exécution de la prestation
  demandée. » The invoice date stands for that date when the source gives no due date (a FEC
  without EcheanceDate).
- The longest: the agreed term may not exceed 60 days from the invoice date, or, by agreement, 45
  days end of month. "45 jours fin de mois" is read two ways in practice (the DGCCRF accepts both):
  the end of the month of issue plus 45 days, or the issue date plus 45 days then the end of that
  month. An import warns (never refuses) when a due date is later than the latest of the three readings.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from django.utils.translation import pgettext

LEGAL_DEFAULT_DAYS = 30
MAX_DAYS = 60
MAX_DAYS_END_OF_MONTH = 45


def default_due_date(issue: date) -> date:
    """The due date of an invoice issued on `issue` whose terms are unknown: 30 days later (L441-10 I)."""
    return issue + timedelta(days=LEGAL_DEFAULT_DAYS)


def _end_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def latest_due_date(issue: date) -> date:
    """The latest due date L441-10 I allows for an invoice issued on `issue`."""
    return max(
        issue + timedelta(days=MAX_DAYS),
        _end_of_month(issue) + timedelta(days=MAX_DAYS_END_OF_MONTH),
        _end_of_month(issue + timedelta(days=MAX_DAYS_END_OF_MONTH)),
    )


def terms_warning(issue: date, due: date) -> str | None:
    """A warning (in the active language) when the due date exceeds the legal maximum, else None."""
    latest = latest_due_date(issue)
    if due <= latest:
        return None
    return pgettext("import", "payment term of %(days)s days: beyond the legal maximum between businesses (60 days "
                    "from the invoice date or 45 days end of month, art. L441-10 I of the Code de commerce: due "
                    "at the latest on %(latest)s)") % {"days": (due - issue).days, "latest": latest.isoformat()}
