from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import User


class Command(BaseCommand):
    help = "Lift every block on a customer (login lockout, OTP failures, flags) with a reason."

    def add_arguments(self, parser):
        parser.add_argument("user_id")
        parser.add_argument("--reason", required=True, help="Why access is given back (audited).")

    def handle(self, *args, user_id, reason, **options):
        user = User.objects.filter(user_id__iexact=user_id).first()
        if user is None:
            raise CommandError(f"No user with User ID {user_id!r}.")
        if not reason.strip():
            raise CommandError("--reason must say why.")
        lifted = services.access_unblock(user=user, reason=reason)
        what = ", ".join(lifted) if lifted else "nothing was blocked; counters cleared"
        self.stdout.write(self.style.SUCCESS(f"{user.user_id}: {what}."))
