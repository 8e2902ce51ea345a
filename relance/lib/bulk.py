"""The one bulk writer below the ORM: the importers' and the daily run's many rows.

A model instance per row costs more than a large import or run allows, so callers hand plain
tuples to these helpers: COPY on PostgreSQL (its text format, written by blocks), executemany on
SQLite. Fields are named by attribute ("customer_id") or by field name ("customer").

One policy for the fields a caller does not give: the rows look exactly like rows the ORM's
save() would have written. An insert gives them their model default; an insert or an update sets
the auto_now fields (updated_at) to now, auto_now_add ones (created_at) on insert only.

A COPY is always closed, even when writing its rows fails: a connection left inside an open COPY
answers nothing else, not even the ROLLBACK that would end its transaction.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from django.db import connections, router
from django.db.models import Field, Model
from django.db.models.options import Options
from django.utils import timezone

# COPY's text format: these characters are written escaped; NULL is \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_BLOCK = 5000
# Values whose str() is what PostgreSQL reads (datetime is a date).
_PLAIN = (int, Decimal, date, float)
# The inserters holding a COPY open (keep_open), so that closing_copies() can end them on an error.
_open_copies: weakref.WeakSet = weakref.WeakSet()


class BulkInsert:
    """Insert rows of `fields` (in that order) into `model`'s table; other fields get their defaults."""

    def __init__(self, model: type[Model], fields: Sequence[str], using=None):
        self.connection = using or connections[router.db_for_write(model)]
        meta = model._meta
        given = [_field(meta, name) for name in fields]
        self.json = [i for i, f in enumerate(given) if f.get_internal_type() == "JSONField"]
        rest, self.defaults = default_columns(meta, given, self.connection)
        qn = self.connection.ops.quote_name
        self.columns = ", ".join(qn(f.column) for f in [*given, *rest])
        self.table = qn(meta.db_table)
        self.pk = qn(meta.pk.column)
        self.table_name, self.pk_name = meta.db_table, meta.pk.column
        self.width = len(given) + len(rest)
        self._copy = self._context = self._cursor = None

    def _rows(self, rows: Iterable[tuple]) -> list[tuple]:
        defaults, at = self.defaults, self.json
        rows = list(rows)
        given = self.width - len(defaults)
        for n, row in enumerate(rows, start=1):
            if len(row) != given:
                raise ValueError(f"bulk write into {self.table}: row {n} has {len(row)} values for {given} fields")
        if not at:
            return [tuple(row) + defaults for row in rows]
        out = []
        for row in rows:
            values = list(row)
            for i in at:
                values[i] = json_text(values[i])
            out.append(tuple(values) + defaults)
        return out

    def insert(self, rows: Iterable[tuple], *, keep_open: bool = False) -> None:
        """Insert rows. With keep_open, PostgreSQL's COPY stays open for the next call.

        An open COPY lets the server insert while Python reads the next rows of a file, but no
        other query may run on the connection until flush() closes it (or abort(), on an error).
        """
        data = self._rows(rows)
        if self.connection.vendor != "postgresql":
            if data:
                marks = ", ".join(["%s"] * self.width)
                with self.connection.cursor() as cursor:
                    cursor.executemany(f"INSERT INTO {self.table} ({self.columns}) VALUES ({marks})", data)
            return
        if self._copy is None:
            if not data:
                return
            self._cursor = self.connection.cursor()
            self._context = self._cursor.cursor.copy(f"COPY {self.table} ({self.columns}) FROM STDIN")
            with self.connection.wrap_database_errors:
                self._copy = self._context.__enter__()
            _open_copies.add(self)
        try:
            with self.connection.wrap_database_errors:
                write_copy(self._copy, data, self.width)
        except BaseException as exc:
            self.abort(exc)
            raise
        if not keep_open:
            self.flush()

    def flush(self) -> None:
        """End an open COPY (waiting for the server to have inserted every row)."""
        if self._copy is not None:
            context, cursor = self._context, self._cursor
            self._copy = self._context = self._cursor = None
            _open_copies.discard(self)
            try:
                with self.connection.wrap_database_errors:
                    context.__exit__(None, None, None)
            finally:
                cursor.close()

    def abort(self, exc: BaseException | None = None) -> None:
        """End an open COPY without its rows: the server drops them and fails the transaction, which
        the caller rolls back. Does nothing when no COPY is open."""
        if self._copy is not None:
            context, cursor = self._context, self._cursor
            self._copy = self._context = self._cursor = None
            _open_copies.discard(self)
            exc = exc or RuntimeError("bulk insert aborted")
            try:
                context.__exit__(type(exc), exc, exc.__traceback__)
            except BaseException:  # noqa: BLE001, S110 - the server's "COPY failed" echoes the caller's error
                pass
            finally:
                cursor.close()

    def __enter__(self) -> BulkInsert:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.flush()
        else:
            self.abort(exc)

    def insert_returning(self, rows: Sequence[tuple]) -> list[int]:
        """Insert and return the new primary keys, in the order of `rows`."""
        data = self._rows(rows)
        if not data:
            return []
        with self.connection.cursor() as cursor:
            if self.connection.vendor != "postgresql":
                # One prepared statement for all rows is much faster there than long VALUES lists. The
                # caller holds the write lock (a transaction that has written), so AUTOINCREMENT gives
                # the rows consecutive ids ending at last_insert_rowid().
                marks = ", ".join(["%s"] * self.width)
                cursor.executemany(f"INSERT INTO {self.table} ({self.columns}) VALUES ({marks})", data)
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
            copy_rows(cursor, f"COPY {self.table} ({self.pk}, {self.columns}) FROM STDIN",
                      [(pk, *row) for pk, row in zip(ids, data, strict=True)])
        return ids


@contextmanager
def closing_copies(using=None) -> Iterator[None]:
    """On an error in the block, end the COPYs still open on the connection (inserters with
    keep_open), so that the transaction around can roll back. Put it inside that transaction."""
    using = using or connections["default"]
    try:
        yield
    except BaseException as exc:
        for inserter in [i for i in _open_copies if i.connection is using]:
            inserter.abort(exc)
        raise


def update_rows(model: type[Model], fields: Sequence[str], rows: Iterable[tuple], using=None) -> None:
    """Set `fields` of each row; a row is its values then its primary key. auto_now fields are set too.

    PostgreSQL: COPY into a temporary table, then one UPDATE ... FROM. SQLite: executemany.
    `using`: the connection (wrapper) to write with, when called from another thread (see
    relance.lib.db.in_background).
    """
    rows = list(rows)
    if not rows:
        return
    connection = using or connections[router.db_for_write(model)]
    meta = model._meta
    qn = connection.ops.quote_name
    given = [_field(meta, name) for name in fields]
    json_at = [i for i, f in enumerate(given) if f.get_internal_type() == "JSONField"]
    if json_at:
        rows = [tuple(json_text(v) if i in json_at else v for i, v in enumerate(row)) for row in rows]
    stamps = [f for f in meta.concrete_fields if getattr(f, "auto_now", False) and f not in given]
    now = [f.get_db_prep_save(timezone.now(), connection) for f in stamps]
    stamp_sets = [f"{qn(f.column)} = %s" for f in stamps]
    table, pk = qn(meta.db_table), qn(meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            sets = ", ".join([*(f"{qn(f.column)} = %s" for f in given), *stamp_sets])
            cursor.executemany(f"UPDATE {table} SET {sets} WHERE {pk} = %s",
                               [(*row[:-1], *now, row[-1]) for row in rows])
            return
        types = [f.db_type(connection) for f in given]
        cols = [f"v{i}" for i in range(len(given))]
        tmp = qn(f"tmp_update_{meta.db_table}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {tmp} ({', '.join(f'{c} {t}' for c, t in zip(cols, types, strict=True))}, "
            f"id bigint) ON COMMIT DROP"
        )
        copy_rows(cursor, f"COPY {tmp} ({', '.join(cols)}, id) FROM STDIN", rows)
        sets = ", ".join([*(f"{qn(f.column)} = v.{c}" for f, c in zip(given, cols, strict=True)), *stamp_sets])
        # Look each row up by key. Left to itself the planner, knowing nothing of the temporary
        # table, merges it with a walk of the whole primary key index (a million entries for 50,000
        # rows); the join methods are put back as they were right after.
        cursor.execute("SELECT current_setting('enable_mergejoin'), current_setting('enable_hashjoin')")
        merge, hash_ = cursor.fetchone()
        cursor.execute("SELECT set_config('enable_mergejoin', 'off', true), set_config('enable_hashjoin', 'off', true)")
        cursor.execute(f"UPDATE {table} AS t SET {sets} FROM {tmp} AS v WHERE t.{pk} = v.id", now)
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
    given = [_field(meta, name) for name in fields]
    table, cols = qn(meta.db_table), ", ".join(qn(f.column) for f in given)
    key = qn(given[0].column)
    sets = ", ".join(f"{qn(_field(meta, name).column)} = EXCLUDED.{qn(_field(meta, name).column)}"
                     for name in update)
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


def default_columns(meta: Options, given: Sequence[Field], connection) -> tuple[list[Field], tuple]:
    """The fields a caller does not give, and their defaults prepared once for the database (JSON as text)."""
    now = timezone.now()
    rest, defaults = [], []
    for f in meta.concrete_fields:
        if f.primary_key or f in given:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        elif f.has_default() or f.null or f.empty_strings_allowed:
            value = f.get_default()
        else:
            raise TypeError(f"{meta.label}.{f.name} has no default: give it to the bulk writer")
        rest.append(f)
        if f.get_internal_type() == "JSONField":
            defaults.append(json_text(value))
        else:
            defaults.append(f.get_db_prep_save(value, connection))
    return rest, tuple(defaults)


def copy_rows(cursor, sql: str, rows: Sequence[tuple]) -> None:
    """Run `COPY ... FROM STDIN` with these rows. An error while writing them ends the COPY (the
    `with` block sends the server its failure) and is raised; the transaction is then to roll back."""
    # Django's wrapper: the driver's errors come out as django.db's (DataError, IntegrityError ...).
    with cursor.db.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        write_copy(copy, rows, len(rows[0]) if rows else 0)


def write_copy(copy, rows: Sequence[tuple], width: int) -> None:
    """Write rows of `width` values as COPY text, by blocks: several times faster than the driver's
    row-by-row write_row() on a large run."""
    value = copy_value
    for start in range(0, len(rows), _COPY_BLOCK):
        block = rows[start : start + _COPY_BLOCK]
        for n, row in enumerate(block, start=start + 1):
            if len(row) != width:
                raise ValueError(f"bulk write: row {n} has {len(row)} values for {width} columns")
        copy.write("".join("\t".join(map(value, row)) + "\n" for row in block).encode())


def copy_value(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, _PLAIN):
        return str(value)  # int, Decimal, date, datetime: their str() is what PostgreSQL reads
    raise TypeError(f"bulk write: cannot write a {type(value).__name__} value ({value!r})")


def json_text(value) -> str:
    """A JSON value as the text the database stores."""
    # Lists of ids (a reminder's other invoices) are most of a run's JSON: written directly.
    if type(value) in (list, tuple) and all(type(v) is int for v in value):
        return "[" + ", ".join(map(str, value)) + "]"
    return json.dumps(value, ensure_ascii=False)


def _field(meta: Options, name: str) -> Field:
    for f in meta.concrete_fields:
        if f.attname == name:
            return f
    return meta.get_field(name)
