from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tokens.hardware import ImportRefused, tokens_import


class Command(BaseCommand):
    help = "Import hardware tokens from a vendor PSKC file (RFC 6030): all of it or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file")
        secret = parser.add_mutually_exclusive_group()
        secret.add_argument("--password", help="password of a PBKDF2-encrypted file")
        secret.add_argument("--psk", help="pre-shared key of an encrypted file, in hex")

    def handle(self, *args, file, password, psk, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            report = tokens_import(
                source=str(path),
                batch=path.name,
                password=password,
                psk=psk,
                reason="manage.py import_tokens",
            )
        except ImportRefused as refused:
            for line in refused.report.skipped + refused.report.problems:
                self.stderr.write(line)
            raise CommandError(f"{path.name}: nothing imported") from None
        for line in report.skipped:
            self.stdout.write(line)
        self.stdout.write(
            self.style.SUCCESS(f"{path.name}: {len(report.imported)} tokens imported into stock")
        )
