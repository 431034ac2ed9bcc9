from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

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
            raise CommandError(_("%(file)s: no such file") % {"file": file})
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
            # The service speaks to staff in the admin too; only here are there options to name.
            if any(problem.code == "encrypted" for problem in refused.report.problems):
                self.stderr.write(
                    _("Give the file's password with --password or its pre-shared key with --psk.")
                )
            raise CommandError(_("%(file)s: nothing imported") % {"file": path.name}) from None
        for line in report.skipped:
            self.stdout.write(line)
        self.stdout.write(
            self.style.SUCCESS(
                _("%(file)s: %(count)s tokens imported into stock")
                % {"file": path.name, "count": len(report.imported)}
            )
        )
