"""Demo customers for local use (``make run``). Refused outside DEBUG: these passwords are public."""

from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from payments.models import BankAccount

DEMO_CUSTOMERS = [
    {
        "user_id": "budi",
        "password": "Budi-Demo-2026",
        "full_name": "Budi Santoso",
        "birth_date": "1985-04-17",
        "phone": "+6281234565678",
        "email": "budi@example.co.id",
        "cif": "CIF0001001",
        "accounts": [
            ("1001000011", "savings", "15000000.00"),
            ("1001000029", "current", "50000000.00"),
        ],
    },
    {
        "user_id": "siti",
        "password": "Siti-Demo-2026",
        "full_name": "Siti Rahayu",
        "birth_date": "1990-11-02",
        "phone": "+6281398761234",
        "email": "siti@example.co.id",
        "cif": "CIF0001002",
        "accounts": [
            ("1002000017", "savings", "7500000.00"),
            ("1002000025", "current", "2500000.00"),
        ],
    },
]


class Command(BaseCommand):
    help = "Create the demo customers and their accounts (idempotent; DEBUG only)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Demo data has public passwords: it loads only with DEBUG on.")
        with transaction.atomic():
            for spec in DEMO_CUSTOMERS:
                user, created = User.objects.get_or_create(
                    user_id=spec["user_id"],
                    defaults={
                        key: spec[key]
                        for key in ("full_name", "birth_date", "phone", "email", "cif")
                    },
                )
                if created:
                    user.set_password(spec["password"])
                    user.save()
                for number, product, balance in spec["accounts"]:
                    BankAccount.objects.get_or_create(
                        number=number,
                        defaults={"owner": user, "product": product, "balance": Decimal(balance)},
                    )
                self.stdout.write(f"{spec['user_id']} / {spec['password']}")
