"""The database refuses a transfer in a currency other than its accounts' (a CHECK constraint
cannot look at another table, so triggers do it), and an account's currency stays as it is
once money was transferred to or from it.

Both raise an integrity error (SQLite: RAISE(ABORT); PostgreSQL: SQLSTATE 23514,
check_violation), so Django reports IntegrityError on either. Rows written before this
migration are not checked again unless their currency or accounts change.

On SQLite, Django rebuilds a table to alter most columns and the rebuild drops its triggers:
a later migration that alters payments_transfer or payments_bankaccount must create these
again (tests/payments/test_currency.py fails if they are missing).
"""

from django.db import migrations

SQLITE_MISMATCH = """
    EXISTS (
        SELECT 1 FROM payments_bankaccount
        WHERE id IN (NEW.source_id, NEW.destination_id) AND currency <> NEW.currency
    )
"""

SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER payments_transfer_currency_insert
    BEFORE INSERT ON payments_transfer
    FOR EACH ROW WHEN {SQLITE_MISMATCH}
    BEGIN
        SELECT RAISE(ABORT, 'payments_transfer_currency_matches_accounts');
    END
    """,
    f"""
    CREATE TRIGGER payments_transfer_currency_update
    BEFORE UPDATE OF currency, source_id, destination_id ON payments_transfer
    FOR EACH ROW WHEN (
        NEW.currency IS NOT OLD.currency
        OR NEW.source_id IS NOT OLD.source_id
        OR NEW.destination_id IS NOT OLD.destination_id
    ) AND {SQLITE_MISMATCH}
    BEGIN
        SELECT RAISE(ABORT, 'payments_transfer_currency_matches_accounts');
    END
    """,
    """
    CREATE TRIGGER payments_bankaccount_currency_fixed
    BEFORE UPDATE OF currency ON payments_bankaccount
    FOR EACH ROW WHEN NEW.currency IS NOT OLD.currency AND EXISTS (
        SELECT 1 FROM payments_transfer WHERE source_id = OLD.id OR destination_id = OLD.id
    )
    BEGIN
        SELECT RAISE(ABORT, 'payments_bankaccount_currency_fixed');
    END
    """,
]

SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS payments_transfer_currency_insert",
    "DROP TRIGGER IF EXISTS payments_transfer_currency_update",
    "DROP TRIGGER IF EXISTS payments_bankaccount_currency_fixed",
]

POSTGRESQL_FORWARD = [
    """
    CREATE FUNCTION payments_transfer_currency_check() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM payments_bankaccount
            WHERE id IN (NEW.source_id, NEW.destination_id) AND currency <> NEW.currency
        ) THEN
            RAISE EXCEPTION 'transfer % is in %, not in the currency of its accounts',
                NEW.reference, NEW.currency
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'payments_transfer_currency_matches_accounts',
                      TABLE = 'payments_transfer';
        END IF;
        RETURN NEW;
    END;
    $$
    """,
    """
    CREATE TRIGGER payments_transfer_currency_insert
    BEFORE INSERT ON payments_transfer
    FOR EACH ROW EXECUTE FUNCTION payments_transfer_currency_check()
    """,
    """
    CREATE TRIGGER payments_transfer_currency_update
    BEFORE UPDATE OF currency, source_id, destination_id ON payments_transfer
    FOR EACH ROW WHEN (
        OLD.currency IS DISTINCT FROM NEW.currency
        OR OLD.source_id IS DISTINCT FROM NEW.source_id
        OR OLD.destination_id IS DISTINCT FROM NEW.destination_id
    )
    EXECUTE FUNCTION payments_transfer_currency_check()
    """,
    # A transfer being written but not yet committed is invisible to the EXISTS below; the
    # SHARE lock waits for every open write on payments_transfer and holds new ones back until
    # this commits, so the two checks cannot pass each other. Currencies change rarely (a
    # correction by staff), so the rare write pays, not every transfer.
    """
    CREATE FUNCTION payments_bankaccount_currency_fixed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        LOCK TABLE payments_transfer IN SHARE MODE;
        IF EXISTS (
            SELECT 1 FROM payments_transfer
            WHERE source_id = OLD.id OR destination_id = OLD.id
        ) THEN
            RAISE EXCEPTION 'account % has transfers: its currency stays %',
                OLD.number, OLD.currency
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'payments_bankaccount_currency_fixed',
                      TABLE = 'payments_bankaccount';
        END IF;
        RETURN NEW;
    END;
    $$
    """,
    """
    CREATE TRIGGER payments_bankaccount_currency_fixed
    BEFORE UPDATE OF currency ON payments_bankaccount
    FOR EACH ROW WHEN (OLD.currency IS DISTINCT FROM NEW.currency)
    EXECUTE FUNCTION payments_bankaccount_currency_fixed()
    """,
]

POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS payments_bankaccount_currency_fixed ON payments_bankaccount",
    "DROP FUNCTION IF EXISTS payments_bankaccount_currency_fixed()",
    "DROP TRIGGER IF EXISTS payments_transfer_currency_update ON payments_transfer",
    "DROP TRIGGER IF EXISTS payments_transfer_currency_insert ON payments_transfer",
    "DROP FUNCTION IF EXISTS payments_transfer_currency_check()",
]

STATEMENTS = {
    "sqlite": (SQLITE_FORWARD, SQLITE_REVERSE),
    "postgresql": (POSTGRESQL_FORWARD, POSTGRESQL_REVERSE),
}


def _run(schema_editor, forward: bool) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in STATEMENTS:
        # Better to stop than to run a bank's ledger without the rule.
        raise NotImplementedError(f"no currency triggers written for {vendor}")
    for statement in STATEMENTS[vendor][0 if forward else 1]:
        schema_editor.execute(statement, params=None)


def triggers_create(apps, schema_editor):
    _run(schema_editor, forward=True)


def triggers_drop(apps, schema_editor):
    _run(schema_editor, forward=False)


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(triggers_create, triggers_drop),
    ]
