"""Database helpers without models: IN-list chunks, a larger SQLite cache, the garbage collector
paused, work in a background thread on this connection, and a second connection for a large run."""

from __future__ import annotations

import gc
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

# IN lists are cut to this size (SQLite allows 32766 variables per statement).
CHUNK = 5000


def chunks(ids: Sequence[int] | Iterable[int], size: int = CHUNK) -> Iterator[list[int]]:
    """The ids in lists of at most `size`."""
    ids = list(ids)
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


@contextmanager
def big_cache(mebibytes: int = 128) -> Iterator[None]:
    """On SQLite, a larger page cache for a large run (the default 2 MB): the run reads the
    customers' invoices through an index and updates rows all over the table, and with the small
    cache the same pages are read again and again."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = -{int(mebibytes) * 1024}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {before}")


def refresh_statistics() -> None:
    """Refresh the query planner's statistics after a large change: on SQLite a sampled ANALYZE
    (a few hundred rows per index, well under a second on a million invoices); PostgreSQL's
    autovacuum does it by itself."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA analysis_limit = 400")
        cursor.execute("ANALYZE")


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection during a large run: the run makes millions of small objects
    (rows, states, plan lines) that all live until its end, and each collection walks them all
    again for nothing (a third of the run's time). Reference counting still frees what is dropped."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def in_background(work, *args) -> Iterator[None]:
    """Run `work(*args, using=<this thread's connection>)` in a thread while the body computes.

    The body must not use the database: the connection is the worker's until the block ends, where
    the worker is waited for and its error, if any, raised. The database works (and SQLite releases
    the interpreter lock) while the body's Python runs on the other core.
    """
    using = connections[DEFAULT_DB_ALIAS]  # this thread's wrapper (the `connection` proxy is per thread)
    failure: list[BaseException] = []

    def target() -> None:
        try:
            work(*args, using=using)
        except BaseException as exc:  # noqa: BLE001 - handed over to the caller's thread below
            failure.append(exc)

    worker = threading.Thread(target=target, name="relance-background-write")
    using.inc_thread_sharing()  # Django's own switch for handing a connection to another thread
    worker.start()
    try:
        yield
    finally:
        worker.join()
        using.dec_thread_sharing()
    if failure:
        raise failure[0]


_COMMIT, _ABORT = object(), object()


class SecondConnection:
    """A second database connection, with its own thread and transaction, that takes a share of a
    large run's writes: on PostgreSQL a second server process then works on the other core while
    this one writes its own share (a run's time is mostly the server's).

    Jobs run in order in one transaction, each giving its result through the Future that submit()
    returns; `commit()` commits the transaction, `abort()` (or leaving the `with` block without
    commit) rolls it back. The jobs must not touch rows the first connection's transaction has
    written, or the two would wait on each other.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._failure: list[BaseException] = []
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="relance-second-connection")
        self._thread.start()

    def submit(self, work, *args) -> Future:
        future: Future = Future()
        with self._lock:
            if self._closed:
                future.set_exception(_Aborted("the second connection has stopped"))
            else:
                self._jobs.put((future, work, args))
        return future

    def commit(self) -> None:
        self._jobs.put(_COMMIT)
        self._thread.join()
        if self._failure:
            raise self._failure[0]

    def abort(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(_ABORT)
            self._thread.join()

    def __enter__(self) -> SecondConnection:
        return self

    def __exit__(self, *exc) -> None:
        self.abort()

    def _work(self) -> None:
        # This thread's `connection` is its own: Django opens one per thread.
        try:
            with transaction.atomic():
                while True:
                    job = self._jobs.get()
                    if job is _COMMIT:
                        break
                    if job is _ABORT:
                        raise _Aborted
                    future, work, args = job
                    try:
                        future.set_result(work(*args))
                    except BaseException as exc:
                        future.set_exception(exc)
                        raise
        except _Aborted:
            pass
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread by commit()
            self._failure.append(exc)
        finally:
            connections.close_all()
            # Jobs never started (a failure before them): whoever waits on them must not hang.
            with self._lock:
                self._closed = True
                while True:
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(job, tuple):
                        job[0].set_exception(_Aborted("the second connection stopped before this job"))


class _Aborted(Exception):
    pass
