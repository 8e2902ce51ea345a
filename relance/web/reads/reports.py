"""The reports page's reads: the period and date asked for in the query string, the aged balance and the
KPIs (relance.reports: SQL aggregates, nothing summed row by row here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from relance.accounts.models import Organisation
from relance.reports.aged import AgedSummary, get_aged_summary
from relance.reports.kpi import Kpis, get_kpis

DEFAULT_DAYS = 90
CUSTOMERS_SHOWN = 50


@dataclass(frozen=True)
class ReportQuery:
    as_of: date
    start: date
    end: date
    errors: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, params, today: date) -> ReportQuery:
        """as_of, from, to (YYYY-MM-DD, as the date inputs send them); a bad one is named in `errors`
        and replaced by its default (as_of and to: today; from: 89 days before to)."""
        errors = []

        def read(name: str) -> date | None:
            text = (params.get(name) or "").strip()
            if not text:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError:
                errors.append(name)
                return None

        as_of = read("as_of") or today
        end = read("to") or today
        start = read("from") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            errors.append("from")
            start = end - timedelta(days=DEFAULT_DAYS - 1)
        return cls(as_of, start, end, tuple(errors))

    @property
    def aged_params(self) -> str:
        return f"as_of={self.as_of.isoformat()}"

    @property
    def period_params(self) -> str:
        return f"from={self.start.isoformat()}&to={self.end.isoformat()}"


def get_aged(org: Organisation, as_of: date) -> AgedSummary:
    """The totals on the day and the customers owing the most (the exports hold them all)."""
    return get_aged_summary(org, as_of, CUSTOMERS_SHOWN)


def get_period_kpis(org: Organisation, query: ReportQuery, today: date, aged: AgedSummary | None = None) -> Kpis:
    """The KPIs of the period; `aged` (the page's aged balance) spares reading it again when the period
    ends on its date, as it does by default."""
    return get_kpis(org, query.start, query.end, today, closing=aged)
