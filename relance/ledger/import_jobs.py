"""Imports started from the web: the uploaded file and its job record live in the data dir.

A job is a folder `DATA_DIR/import_jobs/<organisation id>/<job id>/` holding the uploaded file under
its own (cleaned) name and `job.json`: the kind, the column mapping, the state, the progress and the
result of the last run (a dry run, then the real import). A web request writes the job, a background
thread runs `import_file()` and rewrites `job.json` as it goes; the page polls it. No table: a job
lasts minutes, and what an import did stays in ImportBatch. A job reports in the language of the user who
created it (`language`), whatever thread runs it.

Besides the CSV/XLSX tables (KINDS), a job may hold a whole-file format (import_whole: FEC, bank
statement, e-invoice): uploaded as AUTO, its kind is then found from the content; no mapping, no preview.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone, translation
from django.utils.text import get_valid_filename
from django.utils.translation import pgettext

from relance.accounts.models import Organisation
from relance.accounts.permissions import WRITE, require
from relance.ledger import import_whole
from relance.ledger.importers import KINDS, ImportUsageError, import_file
from relance.ledger.importers.columns import resolve
from relance.ledger.importers.result import RefusedFile
from relance.ledger.importers.tabular import EncodingProblem, open_table

log = logging.getLogger(__name__)

JOB_ID = re.compile(r"^[0-9a-f]{16}$")
SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}
AUTO = "auto"  # a whole-file format, found from the content when the job is created
KEPT_ERRORS = 1000  # problems kept in job.json; the count says how many more there were
PREVIEW_ROWS = 5
KEEP_DAYS = 7
WRITE_EVERY = 0.5  # seconds between two progress writes

UPLOADED, CHECKING, CHECKED, IMPORTING, IMPORTED, FAILED = (
    "uploaded", "checking", "checked", "importing", "imported", "failed")
RUNNING = {CHECKING, IMPORTING}


@dataclass
class Job:
    id: str
    organisation_id: int
    kind: str
    filename: str
    size: int
    mapping: dict[str, str] = field(default_factory=dict)
    state: str = UPLOADED
    done: int = 0
    total: int = 0
    result: dict | None = None
    message: str = ""
    created_at: str = ""
    user_id: int | None = None
    pid: int | None = None  # the process running it: a restarted server leaves no job polling for ever
    language: str = ""  # its messages' language, the creator's; "" in the jobs written before it was kept

    @property
    def speaks(self) -> str:
        return self.language or settings.LANGUAGE_CODE

    @property
    def folder(self) -> Path:
        return jobs_root(self.organisation_id) / self.id

    @property
    def path(self) -> Path:
        return self.folder / self.filename

    @property
    def whole_file(self) -> bool:
        """A FEC, a statement or an e-invoice: no columns to map."""
        return self.kind in import_whole.KINDS

    @property
    def running(self) -> bool:
        return self.state in RUNNING

    @property
    def percent(self) -> int:
        return min(100, int(self.done * 100 / self.total)) if self.total else 0

    def save(self) -> None:
        """Write job.json whole (a reader never sees half of it)."""
        tmp = self.folder / f"job.{threading.get_ident()}.tmp"
        tmp.write_text(json.dumps(asdict(self), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.folder / "job.json")


def jobs_root(organisation_id: int) -> Path:
    return Path(settings.DATA_DIR) / "import_jobs" / str(int(organisation_id))


def load_job(org: Organisation, job_id: str) -> Job | None:
    """The organisation's job, or None (an unknown id, or another organisation's)."""
    if not JOB_ID.match(job_id or ""):
        return None
    try:
        data = json.loads((jobs_root(org.pk) / job_id / "job.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    job = Job(**data)
    if job.organisation_id != org.pk:
        return None
    if job.running and job.pid and not _alive(job.pid):
        with translation.override(job.speaks):
            job.state, job.message = FAILED, pgettext(
                "import", "import interrupted (server restarted): nothing was saved; start it again")
        job.save()
    return job


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process: alive
    return True


def create_job(org: Organisation, kind: str, uploaded, user=None) -> Job:
    """Store an uploaded file (a Django UploadedFile) as a new job. ImportUsageError for a bad kind or file type.

    `kind` AUTO: a FEC, a bank statement or an e-invoice, told from the content (the job gets that kind);
    a file that is none of them is refused and nothing is kept."""
    require(user, org, WRITE)
    whole = kind == AUTO or kind in import_whole.KINDS
    if kind not in KINDS and not whole:
        raise ImportUsageError(pgettext("import", "unknown kind of import: %(kind)s") % {"kind": kind})
    name = get_valid_filename(Path(uploaded.name or "import.csv").name)[:200] or "import.csv"
    if whole and Path(name).suffix.lower() not in import_whole.SUFFIXES:
        raise ImportUsageError(pgettext("import", "%(name)s: format not supported; a FEC (.txt, .csv), a bank "
                                        "statement (CAMT .xml/.zip, OFX, MT940) or an e-invoice (Factur-X PDF, CII "
                                        "or UBL XML) is expected") % {"name": name})
    if not whole and Path(name).suffix.lower() not in SUFFIXES:
        raise ImportUsageError(pgettext("import", "format not supported: a CSV or XLSX file is expected (for a FEC, a "
                                        "bank statement or an e-invoice, choose « Ledger export (FEC), bank statement "
                                        "or e-invoice »)"))
    _prune(org.pk)
    job = Job(id=secrets.token_hex(8), organisation_id=org.pk, kind=kind, filename=name, size=uploaded.size,
              created_at=timezone.now().isoformat(), user_id=getattr(user, "pk", None),
              language=translation.get_language() or settings.LANGUAGE_CODE)
    job.folder.mkdir(parents=True)
    with job.path.open("wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    if kind == "payments" and import_whole.is_statement(job.path):
        job.kind = import_whole.STATEMENT  # as `relance import payments RELEVE`: an MT940 .txt is no table
    if kind == AUTO:
        job.kind = import_whole.detect(job.path) or ""
        if not job.kind:
            shutil.rmtree(job.folder, ignore_errors=True)
            raise ImportUsageError(pgettext("import", "%(name)s: file not recognised; neither a FEC, nor a bank "
                                            "statement (CAMT.053/054, OFX, MT940), nor an e-invoice (Factur-X, CII, "
                                            "UBL). For a CSV or XLSX table, choose what it holds.") % {"name": name})
    job.save()
    return job


def _prune(organisation_id: int) -> None:
    """Forget the jobs of more than KEEP_DAYS days (their files too)."""
    root = jobs_root(organisation_id)
    if not root.is_dir():
        return
    limit = time.time() - KEEP_DAYS * 86400
    for folder in root.iterdir():
        try:
            if folder.is_dir() and folder.stat().st_mtime < limit:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


@dataclass
class Preview:
    """The file's header, its first rows, and the field each column goes to."""

    columns: list[dict]
    rows: list[list[str]]
    problems: list[tuple[str, str]]
    fields: list[tuple[str, str]]  # (field, its name in the active language) of the kind, for the mapping choices
    error: str = ""
    lines: list[int] = field(default_factory=list)  # the file's line number of each row


def preview(job: Job) -> Preview | None:
    """None for a whole-file format: nothing to map."""
    if job.whole_file:
        return None
    importer = KINDS[job.kind]
    fields = [(c.field, c.shown) for c in importer.columns]
    try:
        with open_table(job.path) as table:
            header = table.header
            if isinstance(header, EncodingProblem) or not header:
                message = header.message if isinstance(header, EncodingProblem) else pgettext("import", "empty file")
                return Preview([], [], [], fields, error=message)
            rows: list[list[str]] = []
            lines: list[int] = []
            for line, cells in table.rows:
                if isinstance(cells, EncodingProblem):
                    break
                rows.append([str(c) for c in cells[:len(header)]] + [""] * (len(header) - len(cells)))
                lines.append(line)
                if len(rows) >= PREVIEW_ROWS:
                    break
    except (RefusedFile, ImportUsageError) as exc:
        return Preview([], [], [], fields, error=getattr(exc, "message", str(exc)))
    try:
        slots, problems = resolve(header, importer.columns, job.mapping)
    except ImportUsageError as exc:
        slots, problems = [], [("", str(exc))]
    by_index = {s.index: s.field for s in slots}
    labels = dict(fields)
    columns = [
        {"index": i, "header": h, "field": by_index.get(i, ""), "label": labels.get(by_index.get(i, ""), ""),
         "chosen": job.mapping.get(h, ""), "samples": [row[i] if i < len(row) else "" for row in rows]}
        for i, h in enumerate(header)
    ]
    return Preview(columns, rows, problems, fields, lines=lines)


def start(job: Job, *, dry_run: bool, mapping: dict[str, str] | None = None, user=None) -> Job:
    """Run the dry run or the import of `job` in a background thread (in this one when
    RELANCE_IMPORT_BACKGROUND is False, as the tests do). The page polls job.json."""
    org = Organisation.objects.get(pk=job.organisation_id)
    require(user, org, WRITE)
    if job.running:
        raise ImportUsageError(pgettext("import", "an import of this file is already running"))
    if not dry_run and job.state == IMPORTED:
        raise ImportUsageError(pgettext("import", "this file is already imported"))
    if mapping is not None:
        job.mapping = mapping
    job.state = CHECKING if dry_run else IMPORTING
    job.done, job.total, job.result, job.message, job.pid = 0, job.size, None, "", os.getpid()
    job.save()
    if getattr(settings, "RELANCE_IMPORT_BACKGROUND", True):
        threading.Thread(target=_run_in_thread, args=(job, org, dry_run, user), daemon=True,
                         name=f"import-{job.id}").start()
    else:
        run(job, org, dry_run, user=user)
    return job


def _run_in_thread(job: Job, org: Organisation, dry_run: bool, user=None) -> None:
    try:
        run(job, org, dry_run, user=user)
    finally:
        connection.close()  # the thread's own connection


def run(job: Job, org: Organisation, dry_run: bool, user=None) -> Job:
    # In the creator's language: the thread (or worker) running it has none, or another user's.
    with translation.override(job.speaks):
        return _run(job, org, dry_run, user)


def _run(job: Job, org: Organisation, dry_run: bool, user=None) -> Job:
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= WRITE_EVERY or done >= total:
            last[0] = now
            job.done, job.total = done, total
            job.save()

    details: dict = {}
    try:
        if job.whole_file:
            result, details = import_whole.run(org, job.kind, job.path, dry_run=dry_run, user=user)
        else:
            result = import_file(org, job.kind, job.path, mapping=job.mapping or None, dry_run=dry_run,
                                 progress=progress)
    except ImportUsageError as exc:
        job.state, job.message = FAILED, str(exc)
        job.save()
        return job
    except Exception:  # a bug must not leave the page polling for ever
        log.exception("import job %s failed", job.id)
        job.state, job.message = FAILED, pgettext("import", "unexpected error during the import; see the server log")
        job.save()
        return job
    ordered = sorted(result.errors, key=lambda p: (p.line, p.field))
    job.result = {
        "dry_run": dry_run, "ok": result.ok, "created": result.created, "updated": result.updated,
        "unchanged": result.unchanged, "extra": dict(result.extra), "batch_id": result.batch_id,
        "error_count": result.error_count, "errors": [p.as_dict() for p in ordered[:KEPT_ERRORS]],
        "warnings": [p.as_dict() for p in sorted(result.warnings, key=lambda p: (p.line, p.field))[:KEPT_ERRORS]],
        "details": details,
    }
    _write_rejects(job, ordered, result.more_errors)
    job.done = job.total = max(job.total, 1)
    job.state = CHECKED if dry_run else (IMPORTED if result.ok else CHECKED)
    job.save()
    return job


def rejects_path(job: Job) -> Path:
    return job.folder / "rejets.csv"


def _write_rejects(job: Job, problems, more: int) -> None:
    """The reject report: every problem of the last run as file;line;field;message (Excel's French CSV)."""
    with rejects_path(job).open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow([pgettext("import", "file"), pgettext("import", "line"), pgettext("import", "column"),
                         pgettext("import", "message")])
        for p in problems:
            writer.writerow([job.filename, p.line or "", p.field, p.message])
        if more:
            writer.writerow([job.filename, "", "", pgettext("import rejects", "... and %(count)s more problems")
                             % {"count": more}])
