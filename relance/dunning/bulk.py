"""Fast writes of the daily run's many rows (reminders, lines, tasks), below the ORM.

A model instance per row costs seconds on a large run, so the run hands plain values to these
helpers: COPY on PostgreSQL (with ids taken from the sequence beforehand when the caller needs
them), executemany on SQLite (where the run's write lock makes the new ids consecutive). Fields
not given get their model default, prepared once. (relance.ledger.importers.bulk does the same
for the importers, without ids.)
"""

from __future__ import annotations

import gc
import json
import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connection, connections, router, transaction
from django.db.models import Model

from relance.lib.bulk import default_columns


class Inserter:
    """Insert rows of `fields` (attribute names, e.g. "customer_id", in that order) into `model`'s table."""

    def __init__(self, model: type[Model], fields: Sequence[str]):
        self.connection = connections[router.db_for_write(model)]
        ops = self.connection.ops
        meta = model._meta
        by_attname = {f.attname: f for f in meta.concrete_fields}
        given = [by_attname[name] for name in fields]
        # Only JSON needs preparing: both drivers take dates and Decimals as they are (Django registers
        # the SQLite adapters).
        self.json = [i for i, f in enumerate(given) if f.get_internal_type() == "JSONField"]
        rest, self.defaults = default_columns(meta, given, self.connection, json_as_text=True, who="Inserter")
        qn = ops.quote_name
        self.columns = ", ".join(qn(f.column) for f in [*given, *rest])
        self.table = qn(meta.db_table)
        self.pk = qn(meta.pk.column)
        self.table_name, self.pk_name = meta.db_table, meta.pk.column
        self.width = len(given) + len(rest)

    def _rows(self, rows: Sequence[tuple]) -> list[tuple]:
        defaults = self.defaults
        if not self.json:
            return [tuple(row) + defaults for row in rows]
        out = []
        for row in rows:
            values = list(row)
            for i in self.json:
                values[i] = _json(values[i])
            out.append(tuple(values) + defaults)
        return out

    def insert(self, rows: Sequence[tuple]) -> None:
        if not rows:
            return
        data = self._rows(rows)
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                copy_rows(cursor, f"COPY {self.table} ({self.columns}) FROM STDIN", data)
            else:
                marks = ", ".join(["%s"] * self.width)
                cursor.executemany(f"INSERT INTO {self.table} ({self.columns}) VALUES ({marks})", data)

    def insert_returning(self, rows: Sequence[tuple]) -> list[int]:
        """Insert and return the new primary keys, in the order of `rows`."""
        data = self._rows(rows)
        if not data:
            return []
        one = "(" + ", ".join(["%s"] * self.width) + ")"
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "sqlite":
                # One prepared statement for all rows is much faster there than long VALUES lists. The
                # caller holds the write lock (the run's transaction), so AUTOINCREMENT gives the rows
                # consecutive ids ending at last_insert_rowid().
                cursor.executemany(f"INSERT INTO {self.table} ({self.columns}) VALUES {one}", data)
                cursor.execute("SELECT last_insert_rowid()")
                last = cursor.fetchone()[0]
                return list(range(last - len(data) + 1, last + 1))
            # Take the ids from the table's sequence first, then COPY the rows with them: ten times
            # faster than INSERT ... RETURNING row by row, and safe alongside other writers.
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [self.table_name, self.pk_name, len(data)],
            )
            ids = [r[0] for r in cursor.fetchall()]
            copy_rows(
                cursor, f"COPY {self.table} ({self.pk}, {self.columns}) FROM STDIN",
                [(pk, *row) for pk, row in zip(ids, data, strict=True)],
            )
        return ids


def update_rows(model: type[Model], fields: Sequence[str], rows: Sequence[tuple], using=None) -> None:
    """Set `fields` (attribute names) of each row; a row is its values then its primary key.

    PostgreSQL: COPY into a temporary table, then one UPDATE ... FROM. SQLite: executemany.
    `using`: the connection (wrapper) to write with, when called from another thread (see in_background).
    """
    if not rows:
        return
    connection = using or connections[router.db_for_write(model)]
    meta = model._meta
    qn = connection.ops.quote_name
    by_attname = {f.attname: f for f in meta.concrete_fields}
    given = [by_attname[name] for name in fields]
    json_at = [i for i, f in enumerate(given) if f.get_internal_type() == "JSONField"]
    if json_at:
        rows = [tuple(json.dumps(v, ensure_ascii=False) if i in json_at else v for i, v in enumerate(row))
                for row in rows]
    table, pk = qn(meta.db_table), qn(meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            sets = ", ".join(f"{qn(f.column)} = %s" for f in given)
            cursor.executemany(f"UPDATE {table} SET {sets} WHERE {pk} = %s", rows)
            return
        types = [f.db_type(connection) for f in given]
        cols = [f"v{i}" for i in range(len(given))]
        tmp = qn(f"tmp_update_{meta.db_table}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {tmp} ({', '.join(f'{c} {t}' for c, t in zip(cols, types, strict=True))}, "
            f"id bigint) ON COMMIT DROP"
        )
        copy_rows(cursor, f"COPY {tmp} ({', '.join(cols)}, id) FROM STDIN", rows)
        sets = ", ".join(f"{qn(f.column)} = v.{c}" for f, c in zip(given, cols, strict=True))
        # Look each row up by key. Left to itself the planner, knowing nothing of the temporary
        # table, merges it with a walk of the whole primary key index (a million entries for 50,000
        # rows); the join methods are put back as they were right after.
        cursor.execute("SELECT current_setting('enable_mergejoin'), current_setting('enable_hashjoin')")
        merge, hash_ = cursor.fetchone()
        cursor.execute("SELECT set_config('enable_mergejoin', 'off', true), set_config('enable_hashjoin', 'off', true)")
        cursor.execute(f"UPDATE {table} AS t SET {sets} FROM {tmp} AS v WHERE t.{pk} = v.id")
        cursor.execute("SELECT set_config('enable_mergejoin', %s, true), set_config('enable_hashjoin', %s, true)",
                       [merge, hash_])
        cursor.execute(f"DROP TABLE {tmp}")


def upsert_rows(model: type[Model], fields: Sequence[str], rows: Sequence[tuple], update: Sequence[str]) -> None:
    """Insert rows of `fields` (the primary key first), or where the key exists set only `update`.

    PostgreSQL: COPY into a temporary table, then one INSERT ... ON CONFLICT. SQLite: executemany.
    The keys must be distinct."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    qn = connection.ops.quote_name
    by_attname = {f.attname: f for f in meta.concrete_fields}
    given = [by_attname[name] for name in fields]
    table, cols = qn(meta.db_table), ", ".join(qn(f.column) for f in given)
    key = qn(given[0].column)
    sets = ", ".join(f"{qn(by_attname[name].column)} = EXCLUDED.{qn(by_attname[name].column)}" for name in update)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            marks = ", ".join(["%s"] * len(given))
            cursor.executemany(
                f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT ({key}) DO UPDATE SET {sets}", rows
            )
            return
        tmp = qn(f"tmp_upsert_{meta.db_table}")
        cursor.execute(f"CREATE TEMPORARY TABLE {tmp} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
        copy_rows(cursor, f"COPY {tmp} ({cols}) FROM STDIN", rows)
        cursor.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {tmp} ON CONFLICT ({key}) DO UPDATE SET {sets}"
        )
        cursor.execute(f"DROP TABLE {tmp}")


def _json(value) -> str:
    # Lists of ids (a reminder's other invoices) are most of a run's JSON: written directly.
    if type(value) in (list, tuple) and all(type(v) is int for v in value):
        return "[" + ", ".join(map(str, value)) + "]"
    return json.dumps(value, ensure_ascii=False)


# COPY's text format: these characters are written escaped; NULL is \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_BLOCK = 5000


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)  # int, Decimal, date, datetime: their str() is what PostgreSQL reads


def copy_rows(cursor, sql: str, rows: Sequence[tuple]) -> None:
    """Run `COPY ... FROM STDIN` with these rows, written as COPY text by blocks: several times
    faster than the driver's row-by-row write_row() on a large run."""
    value = _copy_value
    with cursor.cursor.copy(sql) as copy:
        for start in range(0, len(rows), _COPY_BLOCK):
            block = rows[start : start + _COPY_BLOCK]
            text = "".join("\t".join(map(value, row)) + "\n" for row in block)
            copy.write(text.encode())


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
