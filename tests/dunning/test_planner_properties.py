"""Properties of the planner over many simulated days (hypothesis)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relance.dunning.planner import plan_day, simulate
from relance.dunning.state import ALL_CHANNELS, CustomerState, InvoiceState, PromiseState
from tests.dunning.factories import CONFIG

START = date(2026, 1, 1)

customers_st = st.builds(
    CustomerState,
    id=st.integers(1, 4),
    kind=st.sampled_from(["business", "consumer", "public"]),
    strategic=st.booleans(),
    segment=st.sampled_from(["low", "medium", "high"]),
    paused_until=st.none() | st.dates(START, START + timedelta(days=60)),
    channels=st.frozensets(st.sampled_from(sorted(ALL_CHANNELS))),
)


@st.composite
def invoices_st(draw, n_max=12):
    out = []
    for i in range(draw(st.integers(1, n_max))):
        issue = draw(st.dates(START - timedelta(days=90), START + timedelta(days=60)))
        due = issue + timedelta(days=draw(st.integers(0, 60)))
        promised = st.dates(START, due + timedelta(days=90))
        promise = draw(st.none() | st.builds(PromiseState, id=st.just(i + 1), promised_date=promised))
        out.append(
            InvoiceState(
                id=i + 1,
                customer_id=draw(st.integers(1, 4)),
                number=f"F{i + 1:04d}",
                issue_date=issue,
                due_date=due,
                balance=Decimal(draw(st.integers(-5000, 500000))) / 100,
                status=draw(st.sampled_from(["open", "open", "partly_paid", "paid", "disputed", "cancelled"])),
                disputed=draw(st.booleans()) and draw(st.booleans()),
                promise=promise,
            )
        )
    return out


def world(custs, invs):
    by_id = {c.id: c for c in custs}
    return by_id, [inv for inv in invs if inv.customer_id in by_id]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(customers_st, min_size=1, max_size=4, unique_by=lambda c: c.id), invoices_st(), st.integers(0, 40))
def test_no_invoice_is_ever_planned_twice_for_the_same_step(custs, invs, offset):
    by_id, invs = world(custs, invs)
    days = simulate(CONFIG, by_id, invs, START + timedelta(days=offset), 120)
    seen = Counter()
    for plan in days:
        for message in plan.messages:
            for line in message.lines:
                seen[(line.invoice_id, line.step_code)] += 1
        for adv in plan.advances:
            if adv.performed:
                seen[(adv.invoice_id, "performed", adv.last_step, adv.last_date)] += 1
    assert all(count == 1 for count in seen.values()), [k for k, v in seen.items() if v > 1]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(customers_st, min_size=1, max_size=4, unique_by=lambda c: c.id), invoices_st(), st.integers(0, 40))
def test_nothing_is_ever_planned_for_a_paid_or_disputed_invoice(custs, invs, offset):
    by_id, invs = world(custs, invs)
    untouchable = {
        inv.id for inv in invs if inv.balance <= 0 or inv.status in {"paid", "disputed", "cancelled"} or inv.disputed
    }
    for plan in simulate(CONFIG, by_id, invs, START + timedelta(days=offset), 120):
        touched = {line.invoice_id for m in plan.messages for line in m.lines}
        touched |= {i for t in plan.tasks if t.kind != "fix_contact" for i in t.invoice_ids}
        touched |= {a.invoice_id for a in plan.advances if a.performed}
        assert not touched & untouchable


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(customers_st, min_size=1, max_size=4, unique_by=lambda c: c.id), invoices_st(), st.integers(0, 40))
def test_one_message_per_customer_and_channel_and_one_step_per_invoice_each_day(custs, invs, offset):
    by_id, invs = world(custs, invs)
    for plan in simulate(CONFIG, by_id, invs, START + timedelta(days=offset), 90):
        pairs = Counter((m.customer_id, m.channel) for m in plan.messages)
        assert all(v == 1 for v in pairs.values())
        per_invoice = Counter(a.invoice_id for a in plan.advances if a.performed)
        assert all(v == 1 for v in per_invoice.values())
        for m in plan.messages:
            # Every message goes by a channel the customer can be reached on; an escalation reaches no one.
            assert m.channel in by_id[m.customer_id].channels or m.channel == "escalation"
            assert m.total_due == sum(line.balance for line in m.lines)


@settings(max_examples=100, deadline=None)
@given(st.lists(customers_st, min_size=1, max_size=4, unique_by=lambda c: c.id), invoices_st(), st.integers(0, 90))
def test_planning_the_same_day_again_with_the_result_applied_does_nothing(custs, invs, offset):
    by_id, invs = world(custs, invs)
    today = START + timedelta(days=offset)
    first = plan_day(CONFIG, by_id, invs, today)
    adv = {a.invoice_id: a for a in first.advances}
    broken = set(first.broken_promises)
    after = []
    for inv in invs:
        a = adv.get(inv.id)
        promise = None if inv.promise and inv.promise.id in broken else inv.promise
        if a is not None:
            inv = replace(inv, last_step=a.last_step, last_date=a.last_date, next_date=a.next_date, promise=promise)
        after.append(inv)
    busy = {(m.customer_id, m.channel) for m in first.messages}
    second = plan_day(CONFIG, by_id, after, today, busy=busy)
    assert second.messages == []
    assert [t for t in second.tasks if t.kind != "fix_contact"] == []
