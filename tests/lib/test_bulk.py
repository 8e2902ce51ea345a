"""The one bulk writer (relance.lib.bulk): rows as the ORM would write them, and a COPY that never
leaves the connection hung when a row fails."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import DataError, connection, transaction
from django.utils import timezone

from relance.ledger.models import Customer
from relance.lib.bulk import BulkInsert, closing_copies, update_rows

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY: PostgreSQL only")
FIELDS = ("organisation", "external_id", "name")


def within(seconds: float, body) -> None:
    """Run `body` in a thread on its own connection, and fail if it has not ended within `seconds`: a
    connection left inside a COPY blocks for ever, so its server process is ended to free its locks."""
    outcome: dict = {}

    def target() -> None:
        try:
            connection.ensure_connection()
            outcome["pid"] = connection.connection.info.backend_pid
            body()
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
            outcome["error"] = exc
        finally:
            outcome["done"] = True
            connection.close()

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if "done" not in outcome:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [outcome.get("pid")])
        pytest.fail(f"the connection still hangs after {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]


def _rows(org, n: int) -> list[tuple]:
    return [(org.pk, f"C{i:03d}", f"Client {i}") for i in range(n)]


def _still_answers() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def test_it_writes_rows_with_their_defaults_and_stamps(org):
    BulkInsert(Customer, FIELDS).insert(_rows(org, 3))
    customer = Customer.objects.get(organisation=org, external_id="C001")
    assert (customer.name, customer.risk_reasons, customer.strategic) == ("Client 1", [], False)
    assert customer.created_at is not None and customer.updated_at is not None


def test_it_returns_the_new_ids_in_the_order_of_the_rows(org):
    with transaction.atomic():
        ids = BulkInsert(Customer, ["organisation_id", "external_id", "name"]).insert_returning(_rows(org, 4))
    assert [Customer.objects.get(pk=pk).external_id for pk in ids] == ["C000", "C001", "C002", "C003"]


def test_an_update_sets_updated_at_like_a_save(org):
    BulkInsert(Customer, FIELDS).insert(_rows(org, 2))
    before = Customer.objects.get(external_id="C000")
    Customer.objects.filter(pk=before.pk).update(updated_at=before.updated_at - timedelta(days=3))
    update_rows(Customer, ["risk_score", "risk_reasons"], [(70, ["retards répétés"], before.pk)])
    after = Customer.objects.get(pk=before.pk)
    assert (after.risk_score, after.risk_reasons) == (70, ["retards répétés"])
    assert after.updated_at >= timezone.now() - timedelta(minutes=1)


@postgresql_only
def test_a_row_of_the_wrong_width_mid_copy_raises_and_the_transaction_rolls_back(transactional_db, org):
    rows = [*_rows(org, 3), (org.pk, "C-bad"), *_rows(org, 6)[3:]]

    def body():
        with pytest.raises(ValueError, match="row 4 has 2 values for 3 fields"), transaction.atomic():
            BulkInsert(Customer, FIELDS).insert(rows)
        assert _still_answers()

    within(20, body)
    assert not Customer.objects.filter(organisation=org).exists()


@postgresql_only
def test_an_invalid_value_mid_copy_raises_and_the_transaction_rolls_back(transactional_db, org):
    rows = [*_rows(org, 3), ("not-an-id", "C-bad", "Mauvais"), *_rows(org, 6)[3:]]

    def body():
        with pytest.raises(DataError, match="not-an-id"), transaction.atomic():
            BulkInsert(Customer, FIELDS).insert(rows)
        assert _still_answers()

    within(20, body)
    assert not Customer.objects.filter(organisation=org).exists()


@postgresql_only
def test_a_copy_kept_open_is_closed_when_its_next_rows_fail(transactional_db, org):
    def body():
        inserter = BulkInsert(Customer, FIELDS)
        with pytest.raises(TypeError, match="cannot write a object value"), transaction.atomic():
            inserter.insert(_rows(org, 3), keep_open=True)
            inserter.insert([(org.pk, "C-bad", object())], keep_open=True)
        assert _still_answers()

    within(20, body)
    assert not Customer.objects.filter(organisation=org).exists()


@postgresql_only
def test_a_copy_kept_open_is_closed_when_the_caller_fails_between_two_writes(transactional_db, org):
    def body():
        inserter = BulkInsert(Customer, FIELDS)  # held, as an importer holds it, while the rollback runs
        with pytest.raises(KeyError), transaction.atomic(), closing_copies():
            inserter.insert(_rows(org, 3), keep_open=True)
            {}["a column the importer did not expect"]  # noqa: B018 - the caller's own error
        assert _still_answers()
        inserter.flush()  # nothing left open: a no-op

    within(20, body)
    assert not Customer.objects.filter(organisation=org).exists()
