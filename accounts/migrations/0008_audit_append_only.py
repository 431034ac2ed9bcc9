"""The audit log is append-only in the database, not only in the admin: triggers refuse every
UPDATE and DELETE of accounts_auditevent, whoever sends it (the ORM, raw SQL, a shell).

Both databases raise an integrity error (SQLite: RAISE(ABORT); PostgreSQL: SQLSTATE 23001,
restrict_violation), so Django reports IntegrityError on either, naming
``accounts_auditevent_append_only``.

Emptying the whole table is left to ``flush`` (tests clean up with it): PostgreSQL's TRUNCATE
fires no row trigger, and on SQLite accounts' own ``flush`` command sets the triggers aside
for the flush and puts them back in the same transaction. Neither stops the table's owner
(who can drop a trigger); production should run the portal as a role that does not own it.

On SQLite, Django rebuilds a table to alter most columns and the rebuild drops its triggers:
a later migration that alters accounts_auditevent must create these again
(tests/accounts/test_audit_append_only.py fails if they are missing).
"""

from django.db import migrations

SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER accounts_auditevent_append_only_{operation.lower()}
    BEFORE {operation} ON accounts_auditevent
    BEGIN
        SELECT RAISE(ABORT, 'accounts_auditevent_append_only: the audit log is append-only');
    END
    """
    for operation in ("UPDATE", "DELETE")
]

SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS accounts_auditevent_append_only_update",
    "DROP TRIGGER IF EXISTS accounts_auditevent_append_only_delete",
]

POSTGRESQL_FORWARD = [
    """
    CREATE FUNCTION accounts_auditevent_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'accounts_auditevent_append_only: the audit log is append-only (% of event %)',
            TG_OP, OLD.id
            USING ERRCODE = 'restrict_violation',
                  CONSTRAINT = 'accounts_auditevent_append_only',
                  TABLE = 'accounts_auditevent';
    END;
    $$
    """,
    """
    CREATE TRIGGER accounts_auditevent_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditevent
    FOR EACH ROW EXECUTE FUNCTION accounts_auditevent_append_only()
    """,
]

POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS accounts_auditevent_append_only ON accounts_auditevent",
    "DROP FUNCTION IF EXISTS accounts_auditevent_append_only()",
]

STATEMENTS = {
    "sqlite": (SQLITE_FORWARD, SQLITE_REVERSE),
    "postgresql": (POSTGRESQL_FORWARD, POSTGRESQL_REVERSE),
}


def _run(schema_editor, forward: bool) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in STATEMENTS:
        # Better to stop than to run a bank with an audit log that can be rewritten.
        raise NotImplementedError(f"no audit triggers written for {vendor}")
    for statement in STATEMENTS[vendor][0 if forward else 1]:
        schema_editor.execute(statement, params=None)


def triggers_create(apps, schema_editor):
    _run(schema_editor, forward=True)


def triggers_drop(apps, schema_editor):
    _run(schema_editor, forward=False)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0007_user_phone_unique"),
    ]

    operations = [
        migrations.RunPython(triggers_create, triggers_drop),
    ]
