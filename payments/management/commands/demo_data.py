"""Demo customers for local use (``make run``). Refused outside DEBUG: these passwords are public."""

from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User
from payments.models import BankAccount
from tokens import hardware
from tokens.models import HardwareToken

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
    {
        "user_id": "dewi",
        "password": "Dewi-Demo-2026",
        "full_name": "Dewi Lestari",
        "birth_date": "1992-03-05",
        "phone": "+6285712345678",
        "email": "dewi@example.co.id",
        "cif": "CIF0001003",
        "accounts": [
            ("1003000013", "savings", "12500000.00"),
        ],
    },
]

# Dewi's hardware token, handed over at the branch and not yet activated (Profil Saya →
# Aktivasi Token). Its seed is FIXED and printed in the README so `oathtool --totp -s 30s` (or
# `manage.py token_code DEMO0000001`) plays the token. Local use only.
DEMO_TOKEN = {
    "serial": "DEMO0000001",
    "holder": "dewi",
    "seed_hex": "446577692d44656d6f2d546f6b656e2d32303236",  # "Dewi-Demo-Token-2026"
    "algorithm": "totp",
    "step": 30,
    "digits": 6,
}

# One member of staff per role, each with a TOTP device whose seed is FIXED and printed in the
# README so a newcomer can add it to an authenticator app (or oathtool). Local use only.
DEMO_STAFF = [
    {
        "user_id": "agen",
        "password": "Agen-Demo-2026",
        "full_name": "Agen Call Centre",
        "role": "agent",
        "totp_key": "4167656e2d44656d6f2d544f54502d3230323621",  # IFTWK3RNIRSW23ZNKRHVIUBNGIYDENRB
    },
    {
        "user_id": "cabang",
        "password": "Cabang-Demo-2026",
        "full_name": "Petugas Cabang",
        "role": "branch",
        "totp_key": "436162616e672d44656d6f2d544f54502d323621",  # INQWEYLOM4WUIZLNN4WVIT2UKAWTENRB
    },
    {
        "user_id": "supervisor",
        "password": "Supervisor-Demo-2026",
        "full_name": "Supervisor Demo",
        "role": "supervisor",
        "totp_key": "53757065727669736f722d544f54502d32303236",  # KN2XAZLSOZUXG33SFVKE6VCQFUZDAMRW
    },
]


class Command(BaseCommand):
    help = (
        "Create the demo customers, their accounts, one member of staff per role and dewi's "
        "assigned token (idempotent; DEBUG only)."
    )

    def handle(self, *args, **options):
        if settings.PRODUCTION or not settings.DEBUG:
            # Production never, whatever DEBUG says (the settings refuse DEBUG there too).
            raise CommandError(
                "Demo data has public passwords: it loads only with DEBUG on, never in production."
            )
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
            for spec in DEMO_STAFF:
                if not User.objects.filter(user_id__iexact=spec["user_id"]).exists():
                    account_services.staff_create(**{k: v for k, v in spec.items()})
                self.stdout.write(f"{spec['user_id']} / {spec['password']} (staff, {spec['role']})")
            # staff_create sets the groups to their accounts permissions: give tokens' back.
            hardware.token_roles_grant()
            self._demo_token()

    def _demo_token(self):
        spec = DEMO_TOKEN
        holder = User.objects.get(user_id=spec["holder"])
        token, created = HardwareToken.objects.get_or_create(
            serial=spec["serial"],
            defaults={
                "algorithm": spec["algorithm"],
                "step": spec["step"],
                "digits": spec["digits"],
                "sealed_seed": hardware.seed_seal(bytes.fromhex(spec["seed_hex"])),
                "manufacturer": "Demo",
                "batch": "demo_data",
                "state": HardwareToken.State.ASSIGNED,
                "user": holder,
                "assigned_at": timezone.now(),
            },
        )
        self.stdout.write(
            f"token {token.serial} ({token.get_state_display()}) for {holder.user_id}: "
            f"oathtool --totp -s {spec['step']}s {spec['seed_hex']}"
        )
