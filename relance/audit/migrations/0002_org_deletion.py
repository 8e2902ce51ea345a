import json
import os
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import migrations

# The trigger of 0001 refused every UPDATE and DELETE. One removal is sanctioned now: the entries of
# an organisation that no longer exists, i.e. deleted in the same transaction after its log was
# archived (relance.accounts.actions.delete_organisation, relance.audit.archive.purge_deleted). The
# entries of a living organisation are still neither changed nor removed, whoever asks.
SANCTIONED = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM accounts_organisation WHERE id = OLD.organisation_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_auditentry is append-only: % refused (seq %)', TG_OP, OLD.seq;
END;
$$ LANGUAGE plpgsql;
"""
STRICT = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_auditentry is append-only: % refused (seq %)', TG_OP, OLD.seq;
END;
$$ LANGUAGE plpgsql;
"""


def sanction(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SANCTIONED, params=None)  # its % are plpgsql's


def unsanction(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(STRICT, params=None)


COLUMNS = ["organisation_id", "seq", "at", "kind", "actor", "actor_id", "object_type", "object_id",
           "object_label", "customer_id", "data_json", "prev_hash", "hash"]


def archive_orphans(apps, schema_editor):
    """Entries of organisations deleted before this rule (the demo's rebuild left them): written to an
    archive as relance.audit.archive writes one (their anchor went with the organisation, so the head
    is their own last entry), then removed."""
    AuditEntry = apps.get_model("audit", "AuditEntry")  # noqa: N806 - historical models
    Organisation = apps.get_model("accounts", "Organisation")  # noqa: N806
    living = set(Organisation.objects.values_list("pk", flat=True))
    orphans = sorted(set(AuditEntry.objects.values_list("organisation_id", flat=True).distinct()) - living)
    if not orphans:
        return
    folder = Path(settings.DATA_DIR) / "audit-archives"
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    for org_id in orphans:
        rows = AuditEntry.objects.filter(organisation_id=org_id).order_by("seq").values_list(*COLUMNS)
        head = rows.reverse().values_list("seq", "hash").first()
        path = folder / f"deleted-{org_id}-{now:%Y%m%dT%H%M%S%fZ}.jsonl"
        with open(path.with_suffix(".part"), "w", encoding="utf-8") as out:
            out.write(json.dumps({
                "format": "relance-audit-log", "version": 1, "exported_at": now.isoformat(),
                "organisation": {"id": org_id, "slug": "", "legal_name": ""},
                "head": {"count": head[0], "last_hash": head[1]}, "head_from": "entries",
            }, sort_keys=True) + "\n")
            for values in rows.iterator():
                line = dict(zip(COLUMNS, values, strict=True))
                line["at"] = line["at"].astimezone(UTC).isoformat()  # as relance.audit.chain.iso
                out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(path.with_suffix(".part"), path)
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditentry WHERE organisation_id = %s", [org_id])


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("audit", "0001_audit_log"),
    ]

    operations = [
        migrations.RunPython(sanction, unsanction),
        migrations.RunPython(archive_orphans, migrations.RunPython.noop),
    ]
