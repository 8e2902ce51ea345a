"""The bulk writer never leaves PostgreSQL's COPY open: an error inside it, or in the import around an
open one, ends the COPY, so the rollback can run instead of waiting for ever behind it."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import DataError, connection, transaction

from relance.ledger.importers import import_file
from relance.ledger.models import Customer, ImportBatch, Invoice
from relance.lib.bulk import BulkInsert
from tests.ledger.data import write_csv


@pytest.fixture
def postgresql(db):
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail the test instead of hanging when the connection is stuck."""

    def expire(signum, frame):
        raise TimeoutError(f"still waiting after {seconds} s: the connection is stuck")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class FileWentAway(Exception):
    pass


def test_an_exception_mid_copy_ends_the_copy_and_the_connection_rolls_back(postgresql, org):
    def rows():
        yield (org.pk, "C1", "Dupont")
        raise FileWentAway("the file went away")

    with deadline(10):
        with pytest.raises(FileWentAway), transaction.atomic():
            BulkInsert(Customer, ("organisation", "external_id", "name")).insert(rows())
        assert not Customer.objects.exists()


def test_a_value_the_driver_refuses_ends_the_copy(postgresql, org):
    with deadline(10):
        # Django's DataError, raised from the driver's: the COPY was ended and the error came through.
        with pytest.raises(DataError) as refused, transaction.atomic():
            BulkInsert(Customer, ("organisation", "external_id", "name")).insert([(org.pk, "C1", "Du\x00pont")])
        assert isinstance(refused.value.__cause__, psycopg.DataError)
        assert not Customer.objects.exists()


def test_an_error_while_the_copy_is_kept_open_between_chunks_ends_it(postgresql, org, tmp_path):
    # The invoice importer keeps its COPY open from one chunk of 2,000 rows to the next; the progress
    # callback runs in between, so an error there (Ctrl-C, a closed terminal) meets an open COPY.
    header = "Numéro de facture;Client;Nom client;Date de facture;Date d'échéance;Montant TTC\n"
    rows = "".join(f"F{i};C1;Dupont;01/02/2026;03/03/2026;10,00\n" for i in range(2500))
    path = write_csv(tmp_path, "factures.csv", header + rows)

    def interrupted(done: int, total: int) -> None:
        raise FileWentAway("interrupted")

    with deadline(30):
        with pytest.raises(FileWentAway):
            import_file(org, "invoices", path, progress=interrupted)
        assert not (Invoice.objects.exists() or Customer.objects.exists() or ImportBatch.objects.exists())
