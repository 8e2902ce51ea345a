"""relance verify-log --org SLUG [--json] [--expect SEQ:HASH]: recompute the audit log's hash chain.
relance verify-log --file ARCHIVE: the same for the archive of a deleted organisation's log, offline."""

from __future__ import annotations

import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from relance.audit.archive import ArchiveError, verify_archive
from relance.audit.verify import verify_org
from relance.dunning.management.commands._common import get_org


def parse_expect(text: str | None) -> tuple[int, str] | None:
    if not text:
        return None
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise CommandError(f"--expect {text!r}: expected SEQ:HASH (a number, a colon, 64 hex digits)")
    return int(seq), digest.lower()


class Command(BaseCommand):
    help = ("Recompute an organisation's audit log: each entry's hash, the chain, the anchor. Exit 1 naming "
            "the first bad entry.")

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--org")
        source.add_argument("--file", metavar="ARCHIVE",
                            help="an archive written when an organisation was deleted (no database needed)")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--expect", default=None, metavar="SEQ:HASH",
                            help="entry SEQ must still have this hash (noted outside the database earlier)")

    def handle(self, *args, **o):
        expect = parse_expect(o["expect"])
        started = time.perf_counter()
        if o["file"]:
            try:
                header, verdict = verify_archive(o["file"], expect)
            except (ArchiveError, OSError) as exc:
                raise CommandError(str(exc), returncode=2) from exc
            name = f"{header['organisation']['slug']} (archive {o['file']})"
            slug = header["organisation"]["slug"]
        else:
            org = get_org(o["org"])
            verdict = verify_org(org, expect)
            name = slug = org.slug
        seconds = time.perf_counter() - started
        rate = verdict.count / seconds if seconds > 0 else 0.0
        if o["json"]:
            problem = verdict.problem
            self.stdout.write(json.dumps({
                "org": slug, "ok": verdict.ok, "entries": verdict.count, "last_hash": verdict.last_hash,
                **({"file": o["file"]} if o["file"] else {}),
                "anchor": {"count": verdict.anchor_count, "last_hash": verdict.anchor_hash},
                "problem": None if problem is None else {"seq": problem.seq, "kind": problem.kind,
                                                          "object": problem.object, "reason": problem.reason},
                "seconds": round(seconds, 3), "rows_per_second": round(rate),
            }, ensure_ascii=False))
            if not verdict.ok:
                sys.exit(1)
            return
        if not verdict.ok:
            raise CommandError(f"{name} : journal d'audit altéré, {verdict.problem.line()} "
                               f"({verdict.count} entrées intactes avant elle)", returncode=1)
        self.stdout.write(f"{name} : {verdict.count} entrées, chaîne intacte, dernière empreinte "
                          f"{verdict.last_hash} ({rate:,.0f} entrées/s)")
