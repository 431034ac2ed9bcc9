"""The benchmark's helpers that run inside Django, in a child process with the bench's env.

    BENCH_CUSTOMER_PASSWORD=... python -m bench.portal_side setup --customers 20  # prints JSON
    python -m bench.portal_side report --since 1767225600.0            # prints JSON

Kept apart from ``bench.otp_generate`` so that the bench process itself never loads Django
settings (it only drives HTTP and the fake Twilio).
"""

import argparse
import json
import os
import sys
from datetime import UTC, datetime

DESTINATION_NUMBER = "9000000000"


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def setup(customers: int, password: str) -> dict:
    """Create the bench customers (one phone and one funded account each) and a destination."""
    _django()
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from accounts.models import User
    from payments.models import BankAccount

    hashed = make_password(password)  # one Argon2 hash for all: the login still verifies it
    created = []
    with transaction.atomic():
        owner = User.objects.create(
            user_id="bench-destination",
            full_name="Bench Destination",
            phone="+6281199990000",
            password=hashed,
        )
        BankAccount.objects.create(owner=owner, number=DESTINATION_NUMBER, balance=0)
        for i in range(customers):
            user = User.objects.create(
                user_id=f"bench{i:04d}",
                full_name=f"Bench Customer {i}",
                phone=f"+62812{70000000 + i}",
                password=hashed,
            )
            account = BankAccount.objects.create(
                owner=user, number=f"91{i:08d}", balance="1000000000.00"
            )
            created.append(
                {"user_id": user.user_id, "account": account.pk, "phone": str(user.phone)}
            )
    # The SMS limits in a Redis cache: none from an earlier run of the bench (a new database).
    from tokens.limits import redis_limits_reset

    redis_limits_reset()
    return {
        "customers": created,
        "destination": DESTINATION_NUMBER,
        "database": _database_name(connection),
    }


def _database_name(connection) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0].split()[0]
            return f"PostgreSQL {version}"
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]}"
    return connection.vendor


def report(since: float) -> dict:
    """What became of the SMS and challenges created since ``since`` (epoch seconds)."""
    _django()
    from django.db.models import Count

    from tokens.models import Challenge, SmsMessage

    start = datetime.fromtimestamp(since, UTC)
    sms = SmsMessage.objects.filter(created_at__gte=start)
    return {
        "sms_by_status": dict(
            sms.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
        ),
        "sms_attempts_over_1": sms.filter(attempts__gt=1).count(),
        "challenges": Challenge.objects.filter(created_at__gte=start).count(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    setup_parser = commands.add_parser("setup")
    setup_parser.add_argument("--customers", type=int, required=True)
    report_parser = commands.add_parser("report")
    report_parser.add_argument("--since", type=float, required=True)
    args = parser.parse_args(argv)
    if args.command == "setup":
        result = setup(args.customers, os.environ["BENCH_CUSTOMER_PASSWORD"])
    else:
        result = report(args.since)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
