"""The payment term that applies when the parties agreed none.

Code de commerce, art. L441-10 I: « Sauf dispositions contraires figurant aux conditions de vente
ou convenues entre les parties, le délai de règlement des sommes dues est fixé au trentième jour
suivant la date de réception des marchandises ou d'exécution de la prestation demandée. » The
invoice date stands for that date when the source gives no due date (a FEC without EcheanceDate).
"""

from __future__ import annotations

from datetime import date, timedelta

LEGAL_DEFAULT_DAYS = 30


def default_due_date(issue: date) -> date:
    """The due date of an invoice issued on `issue` whose terms are unknown: 30 days later (L441-10 I)."""
    return issue + timedelta(days=LEGAL_DEFAULT_DAYS)
