"""Fast inserts and updates of many rows, below the ORM.

Building a model instance per row costs more than the whole import budget allows for a
million invoices, so the importers hand plain tuples to these helpers: COPY on PostgreSQL,
executemany elsewhere. Fields the caller does not give get their model default, prepared
once, so that the rows look exactly like rows the ORM would have written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connections, router
from django.db.models import Model
from django.utils import timezone

from relance.lib.bulk import default_columns


class BulkInsert:
    """Insert rows of `fields` (in that order) into `model`'s table; other fields get their defaults."""

    def __init__(self, model: type[Model], fields: Sequence[str]):
        self.connection = connections[router.db_for_write(model)]
        meta = model._meta
        given = [meta.get_field(name) for name in fields]
        self.prepare = _preparers(given, self.connection)
        rest, self.defaults = default_columns(meta, given, self.connection, who="BulkInsert")
        qn = self.connection.ops.quote_name
        self.columns = ", ".join(qn(f.column) for f in [*given, *rest])
        self.table = qn(meta.db_table)
        self.width = len(given) + len(rest)
        self._copy = self._context = self._cursor = None

    def insert(self, rows: Iterable[tuple], *, keep_open: bool = False) -> None:
        """Insert rows. With keep_open, PostgreSQL's COPY stays open for the next call.

        An open COPY lets the server insert while Python reads the next rows of the file, but
        no other query may run on the connection until flush() closes it.
        """
        defaults = self.defaults
        if self.prepare:
            rows = [_prepared(row, self.prepare) for row in rows]
        if self.connection.vendor == "postgresql":
            if self._copy is None:
                self._cursor = self.connection.cursor()
                self._context = self._cursor.cursor.copy(f"COPY {self.table} ({self.columns}) FROM STDIN")
                self._copy = self._context.__enter__()
            write = self._copy.write_row
            try:
                for row in rows:
                    write(row + defaults)
            except BaseException as exc:
                # A row the driver cannot send (a NUL in a text) must not leave the COPY open:
                # the connection would refuse every query, the rollback included, and wait for ever.
                self.abort(exc)
                raise
            if not keep_open:
                self.flush()
        else:
            marks = ", ".join(["%s"] * self.width)
            with self.connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {self.table} ({self.columns}) VALUES ({marks})",
                                   [row + defaults for row in rows])

    def flush(self) -> None:
        """End an open COPY (waiting for the server to have inserted every row)."""
        if self._copy is not None:
            context, cursor = self._context, self._cursor
            self._copy = self._context = self._cursor = None
            try:
                context.__exit__(None, None, None)
            finally:
                cursor.close()

    def abort(self, exc: BaseException | None = None) -> None:
        """End an open COPY as failed: the server drops its rows and the transaction can roll back."""
        if self._copy is not None:
            context, cursor = self._context, self._cursor
            self._copy = self._context = self._cursor = None
            exc = exc or RuntimeError("import interrompu")
            try:
                context.__exit__(type(exc), exc, exc.__traceback__)
            finally:
                cursor.close()


def bulk_update(model: type[Model], fields: Sequence[str], rows: Iterable[tuple]) -> None:
    """UPDATE each row's `fields` (values first, primary key last); auto_now fields are set too."""
    rows = list(rows)
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    qn = connection.ops.quote_name
    given = [meta.get_field(name) for name in fields]
    prepare = _preparers(given, connection)
    if prepare:
        rows = [_prepared(row, prepare) for row in rows]
    columns = [f.column for f in given]
    stamps = [f for f in meta.concrete_fields if getattr(f, "auto_now", False) and f.name not in fields]
    extra = tuple(f.get_db_prep_save(timezone.now(), connection) for f in stamps)
    assignments = ", ".join(f"{qn(c)} = %s" for c in [*columns, *(f.column for f in stamps)])
    sql = f"UPDATE {qn(meta.db_table)} SET {assignments} WHERE {qn(meta.pk.column)} = %s"
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(*row[:-1], *extra, row[-1]) for row in rows])


def _preparers(fields, connection) -> list[tuple[int, object]]:
    """Given fields whose Python values the database driver cannot take as they are (JSON)."""
    return [
        (i, lambda value, f=f: f.get_db_prep_save(value, connection))
        for i, f in enumerate(fields)
        if f.get_internal_type() == "JSONField"
    ]


def _prepared(row: tuple, prepare: list[tuple[int, object]]) -> tuple:
    values = list(row)
    for i, prep in prepare:
        values[i] = prep(values[i])
    return tuple(values)
