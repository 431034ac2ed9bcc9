"""Every OTP SMS is one plain GSM-7 segment (at most 160 characters) with the bank's name, in
Indonesian and in English, for every purpose at its longest, and it spells out no typed value
(an e-mail domain) that could turn it into several UCS-2 segments."""

from decimal import Decimal

import pytest

from accounts.models import ProfileChange, User
from payments import services as payments
from payments.models import BankAccount
from tests.factories import BankAccountFactory, UserFactory
from tokens.models import Challenge
from tokens.services import code_generator, sms_body

pytestmark = pytest.mark.django_db

# GSM 03.38 basic character set: one septet each (the extension table counts double).
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def challenges_at_their_longest(customer, client, settings, on_commit):
    """One challenge per purpose that sends a code by SMS, with the longest values each allows."""
    settings.OTP_RESEND_COOLDOWN = 0
    settings.OTP_SMS_USER_LIMIT = 100
    payee_owner = UserFactory(user_id="penerima")
    payee_account = BankAccountFactory(owner=payee_owner, number="1009999999")
    BankAccount.objects.filter(number="1001000011").update(balance=Decimal("999999999999"))
    amount = Decimal(settings.TRANSFER_MAX_AMOUNT) - Decimal("0.01")  # Rp 499.999.999,99
    transfer = payments.transfer_create(
        user=customer, source=BankAccount.objects.get(number="1001000011"),
        destination=payee_account, amount=amount, description="",
    )
    payments.transfer_challenge_issue(transfer=transfer)
    payee = payments.payee_create(user=customer, account=payee_account, nickname="x" * 40)
    payments.payee_challenge_issue(payee=payee)
    # Profile changes through the pages: step 1 for a phone and an e-mail (an IDN domain),
    # and step 2's code to the new number.
    client.post("/profil/phone/", {"new_phone": "+6281311112222"})
    phone_change = ProfileChange.objects.get(kind="phone")
    with on_commit(execute=True):
        client.post(f"/profil/phone/{phone_change.pk}/otp/")
    client.post("/profil/email/", {"new_email": "budi.santoso@bücher-straße.example"})
    email_change = ProfileChange.objects.filter(kind="email").first()
    with on_commit(execute=True):
        client.post(f"/profil/email/{email_change.pk}/otp/")
    from accounts.profile_views import _new_phone_code_issue

    _new_phone_code_issue(phone_change)
    return list(Challenge.objects.select_related("user").filter(channel="sms"))


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_otp_sms_is_one_gsm7_segment_with_the_banks_name(
    customer_client, customer, settings, language, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=customer.pk).update(language=language)
    challenges = challenges_at_their_longest(
        customer, customer_client, settings, django_capture_on_commit_callbacks
    )
    purposes = {c.purpose for c in challenges}
    assert purposes >= {"transfer", "add_payee", "phone_change", "email_change", "phone_verify"}
    for challenge in challenges:
        challenge.user.language = language
        body = sms_body(challenge, code_generator.code(challenge))
        assert body.startswith("Bank Nusantara:"), body
        assert len(body) <= 160, (challenge.purpose, len(body), body)
        assert set(body) <= GSM7, (challenge.purpose, set(body) - GSM7, body)
        assert "bücher" not in body and "example" not in body
        assert ("JANGAN BERIKAN" in body) == (language == "id"), body
