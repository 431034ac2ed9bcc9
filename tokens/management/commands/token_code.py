from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tokens.hardware import serial_normalise, token_code_current
from tokens.models import HardwareToken


class Command(BaseCommand):
    help = "Print the code a demo token shows now (TOTP) or on its next press (HOTP). DEBUG only."

    def add_arguments(self, parser):
        parser.add_argument("serial")

    def handle(self, *args, serial, **options):
        if settings.PRODUCTION or not settings.DEBUG:
            # Production never, whatever DEBUG says (the settings refuse DEBUG there too).
            raise CommandError(
                "token_code plays a customer's token: only with DEBUG on, never in production."
            )
        token = HardwareToken.objects.filter(serial=serial_normalise(serial)).first()
        if token is None:
            raise CommandError(f"{serial}: no such token")
        self.stdout.write(token_code_current(token=token))
