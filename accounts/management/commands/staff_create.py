import getpass

import segno
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import User


class Command(BaseCommand):
    help = (
        "Create a member of staff in a role (agent, branch, supervisor) with a TOTP device, and "
        "print its otpauth URI and QR code once: scan it into an authenticator app now."
    )

    def add_arguments(self, parser):
        parser.add_argument("user_id")
        parser.add_argument("--role", required=True, choices=sorted(services.ROLE_GROUPS))
        parser.add_argument("--full-name", default="", help="Defaults to the User ID.")
        parser.add_argument(
            "--password",
            help="Prompted for when left out (a password on the command line stays in the "
            "shell history).",
        )
        parser.add_argument("--no-qr", action="store_true", help="Print the URI only.")

    def handle(self, *args, user_id, role, full_name, password, no_qr, **options):
        if User.objects.filter(user_id__iexact=user_id).exists():
            raise CommandError(f"User ID {user_id!r} is taken.")
        if password is None:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ.")
        candidate = User(user_id=user_id, full_name=full_name or user_id, is_staff=True)
        try:
            validate_password(password, candidate)
            user, device = services.staff_create(
                user_id=user_id, full_name=full_name or user_id, password=password, role=role
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(
            self.style.SUCCESS(f"{user.user_id}: {services.ROLE_GROUPS[role]}, staff, TOTP device.")
        )
        self.stdout.write("Add it to the authenticator app now; it is not shown again:")
        self.stdout.write(device.config_url)
        if not no_qr:
            segno.make(device.config_url, error="m").terminal(out=self.stdout, compact=True)
