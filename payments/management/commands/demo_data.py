"""Demo customers for local use (``make run``). Refused outside DEBUG: these passwords are public."""

import secrets
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Company, User, corporate_user_id
from payments.models import BankAccount, LedgerEntry, Transfer
from tokens import hardware
from tokens.models import HardwareToken, HardwareTokenDevice

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

# A customer whose Internet Banking the bank opened: her first password is the one printed in
# her PIN mailer (``customer_initial_password_set``), so her first login lands on Ganti Password
# and nothing else opens until she has set her own. Her account's history is written apart
# from the others' (DEMO_NEW_REFERENCE_PREFIX), so theirs stays as it was.
DEMO_NEW_CUSTOMER = {
    "user_id": "rina",
    "password": "Rina-Awal-2026",
    "full_name": "Rina Wulandari",
    "birth_date": "1995-06-21",
    "phone": "+6281277778888",
    "email": "rina@example.co.id",
    "cif": "CIF0001004",
    "accounts": [
        ("1004000019", "savings", "3250000.00"),
    ],
}
DEMO_NEW_HISTORY = [
    (40, "10:20", "9990000019", "1004000019", "1500000", "Setoran tunai"),
    (28, "16:45", "1004000019", "9990000019", "300000", "Tarik tunai"),
    (12, "09:10", "9990000019", "1004000019", "750000", "Setoran tunai"),
    (5, "18:05", "1004000019", "9990000019", "200000", "Tarik tunai"),
]
DEMO_NEW_REFERENCE_PREFIX = "DMNEW"

# A corporate customer (issue 11): users log in at /corporate/login/ with Corporate ID, User ID
# and password, and see the company's accounts. The account's owner is its first user.
# A second user must approve each payment (maker/approver), so the demo shows both steps.
DEMO_COMPANY = {
    "name": "PT Maju Bersama",
    "cif": "C000123",
    "corporate_id": "MAJUBERSAMA",
    "requires_approval": True,
}
DEMO_COMPANY_USERS = [
    {
        "user_id": "andi",
        "password": "Andi-Corp-2026",
        "full_name": "Andi Wijaya",
        "birth_date": "1982-02-11",
        "phone": "+6281277001122",
        "email": "andi@majubersama.co.id",
    },
    {
        "user_id": "rudi",
        "password": "Rudi-Corp-2026",
        "full_name": "Rudi Hartono",
        "birth_date": "1979-09-23",
        "phone": "+6281277003344",
        "email": "rudi@majubersama.co.id",
    },
]
DEMO_COMPANY_CUSTOMER = {"accounts": [("2001000018", "current", "250000000.00")]}
DEMO_COMPANY_HISTORY = [
    (45, "09:05", "9990000019", "2001000018", "75000000", "Setoran tunai"),
    (33, "14:20", "2001000018", "9990000019", "12500000", "Tarik tunai gaji"),
    (21, "10:40", "9990000019", "2001000018", "40000000", "Setoran penjualan"),
    (8, "15:55", "2001000018", "9990000019", "8000000", "Tarik tunai operasional"),
]
DEMO_COMPANY_REFERENCE_PREFIX = "DMCORP"

# The company's users' hardware tokens, both ACTIVE and both users confirming with them. andi's
# works: its seed is FIXED and printed in the README (`oathtool --totp -s 30s`, or
# `manage.py token_code DEMO0000002`). rudi's is "dead" (battery flat): the database still
# holds it as active, but its seed is random and never printed, so no code of his will match
# until the token replacement request switches him to SMS OTP. Local use only.
DEMO_CORPORATE_TOKENS = [
    {
        "serial": "DEMO0000002",
        "holder": "andi",
        "seed_hex": "416e64692d436f72702d546f6b656e2d32303236",  # "Andi-Corp-Token-2026"
        "algorithm": "totp",
        "step": 30,
        "digits": 6,
    },
    {
        "serial": "DEMO0000003",
        "holder": "rudi",
        "seed_hex": None,  # random: the dead token
        "algorithm": "totp",
        "step": 30,
        "digits": 6,
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


# The bank's own cash account: the other side of cash paid in or taken out at a branch. Every
# demo account's history starts with a cash deposit, so that the legs of each customer account
# add up to its balance. Nobody logs in as its holder (inactive, no usable password).
BANK_CASH = {
    "user_id": "kasbank",
    "full_name": "Bank Nusantara (Kas)",
    "number": "9990000019",
    "balance": "10000000000.00",
}

# Some months of history on every demo account, in and out: (days ago, time WIB, from account,
# to account, amount, description). "9990000019" is the bank's cash (deposit, withdrawal).
DEMO_HISTORY = [
    (140, "09:12", "1001000029", "1001000011", "3000000", "Pindah dana"),
    (130, "19:40", "1001000011", "1002000017", "1250000", "Bayar kos"),
    (120, "12:05", "1002000017", "1003000013", "500000", "Arisan"),
    (110, "20:31", "1003000013", "1001000011", "350000", "Patungan kado"),
    (100, "10:02", "9990000019", "1001000029", "20000000", "Setoran tunai"),
    (95, "08:47", "1002000025", "1002000017", "1000000", "Pindah dana"),
    (90, "13:15", "1001000011", "9990000019", "2000000", "Tarik tunai"),
    (80, "16:20", "1003000013", "1002000025", "750000", "Bayar katering"),
    (70, "19:02", "1001000011", "1002000017", "1250000", "Bayar kos"),
    (60, "21:44", "1002000017", "1001000011", "200000", "Ganti uang makan"),
    (55, "11:30", "9990000019", "1003000013", "5000000", "Setoran tunai"),
    (45, "14:10", "1001000029", "1003000013", "2500000", "Jasa desain logo"),
    (40, "09:55", "1002000017", "9990000019", "1000000", "Tarik tunai"),
    (35, "18:25", "1001000011", "1002000017", "1250000", "Bayar kos"),
    (25, "12:48", "1003000013", "1001000011", "150000", "Patungan makan siang"),
    (20, "10:40", "9990000019", "1002000025", "1500000", "Setoran tunai"),
    (14, "19:30", "1002000017", "1003000013", "500000", "Arisan"),
    (10, "07:58", "1001000029", "1001000011", "2000000", "Pindah dana"),
    (6, "20:15", "1001000011", "1002000017", "1250000", "Bayar kos"),
    (4, "15:03", "1003000013", "1002000017", "300000", "Bayar pulsa"),
    (3, "11:21", "1002000025", "1001000029", "400000", "Pembayaran invoice"),
    (2, "10:10", "9990000019", "1001000011", "1000000", "Setoran tunai"),
    (1, "17:36", "1001000011", "1003000013", "275000", "Titip belanja"),
]
DEMO_OPENING_DAYS_AGO = 160
DEMO_REFERENCE_PREFIX = "DEMO"


class Command(BaseCommand):
    help = (
        "Create the demo customers (rina with a first password from the bank), their accounts "
        "and history, one member of staff per role and dewi's assigned token (idempotent; "
        "DEBUG only)."
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
            self._demo_new_customer()
            for spec in DEMO_STAFF:
                if not User.objects.filter(user_id__iexact=spec["user_id"]).exists():
                    account_services.staff_create(**{k: v for k, v in spec.items()})
                self.stdout.write(f"{spec['user_id']} / {spec['password']} (staff, {spec['role']})")
            # staff_create sets the groups to their accounts permissions: give tokens' back.
            hardware.token_roles_grant()
            self._demo_token()
            self._demo_history()
            self._demo_history(
                customers=[DEMO_NEW_CUSTOMER],
                history=DEMO_NEW_HISTORY,
                prefix=DEMO_NEW_REFERENCE_PREFIX,
            )
            self._demo_company()
            self._demo_history(
                customers=[DEMO_COMPANY_CUSTOMER],
                history=DEMO_COMPANY_HISTORY,
                prefix=DEMO_COMPANY_REFERENCE_PREFIX,
            )

    def _demo_company(self):
        company, _ = Company.objects.get_or_create(
            corporate_id=DEMO_COMPANY["corporate_id"],
            defaults={key: DEMO_COMPANY[key] for key in ("name", "cif", "requires_approval")},
        )
        users = []
        for spec in DEMO_COMPANY_USERS:
            user, created = User.objects.get_or_create(
                user_id=corporate_user_id(
                    corporate_id=company.corporate_id, user_id=spec["user_id"]
                ),
                defaults={
                    "company": company,
                    "cif": company.cif,
                    **{key: spec[key] for key in ("full_name", "birth_date", "phone", "email")},
                },
            )
            if created:
                user.set_password(spec["password"])
                user.save()
            users.append(user)
            self.stdout.write(
                f"{company.corporate_id} / {spec['user_id']} / {spec['password']} (corporate)"
            )
        for number, product, balance in DEMO_COMPANY_CUSTOMER["accounts"]:
            BankAccount.objects.get_or_create(
                number=number,
                defaults={
                    "owner": users[0],
                    "company": company,
                    "product": product,
                    "balance": Decimal(balance),
                },
            )
        by_name = dict(zip([spec["user_id"] for spec in DEMO_COMPANY_USERS], users, strict=True))
        for spec in DEMO_CORPORATE_TOKENS:
            self._demo_corporate_token(spec, by_name[spec["holder"]])

    def _demo_corporate_token(self, spec, holder):
        """An active token the holder confirms with (created once: a user already holding it,
        or switched to SMS since, is left as they are)."""
        seed = bytes.fromhex(spec["seed_hex"]) if spec["seed_hex"] else secrets.token_bytes(20)
        now = timezone.now()
        token, created = HardwareToken.objects.get_or_create(
            serial=spec["serial"],
            defaults={
                "algorithm": spec["algorithm"],
                "step": spec["step"],
                "digits": spec["digits"],
                "sealed_seed": hardware.seed_seal(seed),
                "manufacturer": "Demo",
                "batch": "demo_data",
                "state": HardwareToken.State.ACTIVE,
                "user": holder,
                "assigned_at": now,
                "activated_at": now,
            },
        )
        if created:
            HardwareTokenDevice.objects.create(
                user=holder, token=token, name=f"Token {token.serial}", confirmed=True
            )
            User.objects.filter(pk=holder.pk).update(
                confirmation_method=User.ConfirmationMethod.HARDWARE_TOKEN
            )
        if spec["seed_hex"]:
            how = f"oathtool --totp -s {spec['step']}s {spec['seed_hex']}"
        else:
            how = "dead (battery flat): no codes until the SMS OTP fallback"
        self.stdout.write(f"token {token.serial} (active) for {holder.user_id}: {how}")

    def _demo_new_customer(self):
        spec = DEMO_NEW_CUSTOMER
        user, created = User.objects.get_or_create(
            user_id=spec["user_id"],
            defaults={
                key: spec[key] for key in ("full_name", "birth_date", "phone", "email", "cif")
            },
        )
        if created:
            account_services.customer_initial_password_set(user=user, password=spec["password"])
        for number, product, balance in spec["accounts"]:
            BankAccount.objects.get_or_create(
                number=number,
                defaults={"owner": user, "product": product, "balance": Decimal(balance)},
            )
        self.stdout.write(
            f"{spec['user_id']} / {spec['password']} (first password from the bank: changed at "
            "first login)"
        )

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

    def _demo_history(self, *, customers=None, history=None, prefix=DEMO_REFERENCE_PREFIX):
        """Completed transfers over the last months, each written as its two ledger legs with
        the running balance, ending at each account's balance today (which stays as it is):
        an opening cash deposit, then ``history`` (DEMO_HISTORY for DEMO_CUSTOMERS unless
        given). Written once per ``prefix`` of the references: skipped when those transfers
        exist, or when the accounts already have movements of their own."""
        customers = DEMO_CUSTOMERS if customers is None else customers
        history = DEMO_HISTORY if history is None else history
        if Transfer.objects.filter(reference__startswith=prefix).exists():
            self.stdout.write(f"history ({prefix}): already there")
            return
        numbers = [number for spec in customers for number, _, _ in spec["accounts"]]
        if LedgerEntry.objects.filter(account__number__in=numbers).exists():
            self.stdout.write("history: skipped (the demo accounts already have movements)")
            return
        cash = self._bank_cash()
        accounts = {
            account.number: account
            for account in BankAccount.objects.select_for_update()
            .select_related("owner")
            .filter(number__in=[*numbers, cash.number])
            .order_by("pk")
        }
        today = timezone.localdate()

        def moment(days_ago, hhmm):
            hour, minute = map(int, hhmm.split(":"))
            day = today - timedelta(days=days_ago)
            return timezone.make_aware(datetime.combine(day, time(hour, minute)))

        moves = [
            (moment(days, hhmm), source, destination, Decimal(amount), description)
            for days, hhmm, source, destination, amount, description in history
        ]
        # Each account's opening deposit is what its balance today leaves after the history.
        change = dict.fromkeys(accounts, Decimal(0))
        for _, source, destination, amount, _ in moves:
            change[source] -= amount
            change[destination] += amount
        for offset, number in enumerate(numbers):
            opening = accounts[number].balance - change[number]
            if opening <= 0:
                raise CommandError(f"demo history does not fit the balance of {number}")
            moves.append(
                (
                    moment(DEMO_OPENING_DAYS_AGO - offset, "09:30"),
                    cash.number,
                    number,
                    opening,
                    "Setoran awal",
                )
            )
            change[number] += opening
            change[cash.number] -= opening
        moves.sort(key=lambda move: move[0])
        running = {number: account.balance - change[number] for number, account in accounts.items()}
        for serial, (when, source, destination, amount, description) in enumerate(moves, 1):
            running[source] -= amount
            running[destination] += amount
            if running[source] < 0:
                raise CommandError(f"demo history overdraws {source} on {when:%d/%m/%Y}")
            transfer = Transfer.objects.create(
                reference=f"{prefix}{when:%y%m%d}{serial:04d}",
                initiated_by=accounts[source].owner,
                source=accounts[source],
                destination=accounts[destination],
                amount=amount,
                currency=accounts[source].currency,
                description=description,
                status=Transfer.Status.COMPLETED,
                created_at=when,
                completed_at=when,
            )
            LedgerEntry.objects.bulk_create(
                [
                    LedgerEntry(
                        transfer=transfer,
                        account=accounts[source],
                        amount=-amount,
                        balance_after=running[source],
                        created_at=when,
                    ),
                    LedgerEntry(
                        transfer=transfer,
                        account=accounts[destination],
                        amount=amount,
                        balance_after=running[destination],
                        created_at=when,
                    ),
                ]
            )
        self.stdout.write(f"history: {len(moves)} transfers over {DEMO_OPENING_DAYS_AGO} days")

    def _bank_cash(self) -> BankAccount:
        holder, created = User.objects.get_or_create(
            user_id=BANK_CASH["user_id"],
            defaults={"full_name": BANK_CASH["full_name"], "is_active": False},
        )
        if created:
            holder.set_unusable_password()
            holder.save()
        account, _ = BankAccount.objects.get_or_create(
            number=BANK_CASH["number"],
            defaults={
                "owner": holder,
                "product": BankAccount.Product.CURRENT,
                "balance": Decimal(BANK_CASH["balance"]),
            },
        )
        return account
