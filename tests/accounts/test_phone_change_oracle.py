"""Profil Saya's phone change is no oracle of which numbers belong to customers: a number is
checked only after both codes (the old factor's, and the one sent to the new number), in
words that confirm nobody's number, and such refusals are counted per customer per day."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from accounts.models import AuditEvent, ProfileChange, User
from tests.conftest import outbox_code

pytestmark = pytest.mark.django_db

OLD = "+6281234565678"
SITI = "+6281398761234"  # other_customer's number
FREE = "+6281311112222"
REFUSED_TEXT = "This number cannot be used. Please visit a branch."


def start(client, new):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client.post("/profil/phone/", {"new_phone": new})


def both_codes(client, change, run_on_commit, new):
    run_on_commit(client.post, f"/profil/phone/{change.pk}/otp/")
    run_on_commit(client.post, f"/profil/phone/{change.pk}/confirm/", {"code": outbox_code(to=OLD)})
    return run_on_commit(
        client.post, f"/profil/phone/{change.pk}/verify/", {"code": outbox_code(to=new)}
    )


def test_step_one_does_not_say_a_number_belongs_to_someone(customer_client, other_customer):
    response = start(customer_client, SITI)
    assert response.status_code == 302
    change = ProfileChange.objects.get(user__user_id="budi")
    assert response["Location"] == f"/profil/phone/{change.pk}/confirm/"
    assert str(change.new_phone) == SITI


def test_a_customers_number_is_refused_after_both_codes(
    customer_client, customer, other_customer, run_on_commit
):
    start(customer_client, SITI)
    change = ProfileChange.objects.get(user=customer)
    response = both_codes(customer_client, change, run_on_commit, SITI)
    assert response.status_code == 302 and response["Location"] == "/profil/"
    page = customer_client.get("/profil/").content.decode()
    assert REFUSED_TEXT in page
    assert "another customer" not in page and "belongs" not in page
    assert str(User.objects.get(pk=customer.pk).phone) == OLD
    assert str(User.objects.get(pk=other_customer.pk).phone) == SITI
    change.refresh_from_db()
    assert change.state == ProfileChange.State.REFUSED
    event = AuditEvent.objects.get(action="phone_change_refused", subject=customer)
    assert SITI not in str(event.data)
    # The change is over: the code cannot be tried again.
    again = customer_client.post(f"/profil/phone/{change.pk}/verify/", {"code": "123456"})
    assert again.status_code == 302


def test_refusals_are_counted_per_customer_per_day(
    customer_client, customer, other_customer, run_on_commit, settings
):
    settings.PHONE_CHANGE_REFUSALS_PER_DAY = 2
    settings.OTP_RESEND_COOLDOWN = 0
    settings.OTP_SMS_USER_LIMIT = settings.OTP_SMS_PHONE_LIMIT = 100
    with time_machine.travel(timezone.now().replace(hour=3), tick=False) as traveller:
        for _ in range(2):
            start(customer_client, SITI)
            change = ProfileChange.objects.get(user=customer, state="awaiting_current")
            assert both_codes(customer_client, change, run_on_commit, SITI).status_code == 302
            traveller.shift(timedelta(minutes=2))
        # The limit is reached: no further number today, even a free one, and no SMS for it.
        response = start(customer_client, FREE)
        assert response.status_code == 200
        assert response.context["form"].non_field_errors().as_data()[0].code == "phone_change_limit"
        assert not ProfileChange.objects.filter(new_phone=FREE).exists()
        # Tomorrow (WIB) the customer may try again.
        traveller.shift(timedelta(days=1))
        customer_client.force_login(customer)
        response = start(customer_client, FREE)
        assert response.status_code == 302
