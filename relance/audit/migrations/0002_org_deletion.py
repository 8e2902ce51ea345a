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


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("audit", "0001_audit_log"),
    ]

    operations = [migrations.RunPython(sanction, unsanction)]
