"""Django's ``flush``, which on SQLite sets the database's triggers aside while it empties
the tables.

Flushing empties every table, as TRUNCATE does on PostgreSQL, where no row trigger fires. On
SQLite Django flushes with ``DELETE FROM``, which fires row triggers, so the audit log's
append-only triggers (migration accounts/0008) would refuse it. Here the triggers are dropped,
the tables emptied and the triggers created again from their own stored SQL, all in one
transaction: a failure leaves them in place, and no other connection ever sees the table
without them. Row deletes anywhere else stay refused.
"""

from django.core.management.commands import flush
from django.db import connections, transaction


class Command(flush.Command):
    def handle(self, **options):
        database = options["database"]
        connection = connections[database]
        if connection.vendor == "postgresql":
            # TRUNCATE is refused by a statement trigger (accounts/0014): set it aside for the
            # flush, in the same transaction.
            with transaction.atomic(using=database), connection.cursor() as cursor:
                cursor.execute(
                    "ALTER TABLE accounts_auditevent DISABLE TRIGGER accounts_auditevent_no_truncate"
                )
                super().handle(**options)
                cursor.execute(
                    "ALTER TABLE accounts_auditevent ENABLE TRIGGER accounts_auditevent_no_truncate"
                )
            return None
        if connection.vendor != "sqlite":
            return super().handle(**options)
        if options["interactive"]:
            confirm = input(
                f'This will IRREVERSIBLY DESTROY all data in "{connection.settings_dict["NAME"]}". '
                "Type 'yes' to continue, or 'no' to cancel: "
            )
            if confirm != "yes":
                self.stdout.write("Flush cancelled.")
                return None
            options = {**options, "interactive": False}
        with transaction.atomic(using=database), connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            triggers = cursor.fetchall()
            for name, _sql in triggers:
                cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
            super().handle(**options)
            for _name, sql in triggers:
                cursor.execute(sql)
        return None
