"""The audit log refuses TRUNCATE on PostgreSQL too (0008's row triggers do not fire for it).

A statement trigger, so TRUNCATE, which skips row triggers, is refused like DELETE. accounts'
own ``flush`` sets it aside inside its transaction (how tests clean up). SQLite has no
TRUNCATE. Whoever owns the table can still drop triggers: production runs the portal as a
database role that does not own its tables (README, *Settings*).
"""

from django.db import migrations

FORWARD = [
    """
    CREATE FUNCTION accounts_auditevent_no_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'accounts_auditevent_append_only: the audit log is append-only (TRUNCATE)'
            USING ERRCODE = 'restrict_violation',
                  CONSTRAINT = 'accounts_auditevent_append_only',
                  TABLE = 'accounts_auditevent';
    END;
    $$
    """,
    """
    CREATE TRIGGER accounts_auditevent_no_truncate
    BEFORE TRUNCATE ON accounts_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_auditevent_no_truncate()
    """,
]
REVERSE = [
    "DROP TRIGGER IF EXISTS accounts_auditevent_no_truncate ON accounts_auditevent",
    "DROP FUNCTION IF EXISTS accounts_auditevent_no_truncate()",
]


def _run(schema_editor, statements):
    if schema_editor.connection.vendor == "postgresql":
        for statement in statements:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0013_profile_change_challenge_refs")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: _run(schema_editor, FORWARD),
            lambda apps, schema_editor: _run(schema_editor, REVERSE),
        )
    ]
