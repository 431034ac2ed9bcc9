"""When a new token is assigned and activated, the SMS fallback of an approved replacement
ends by itself: the user confirms with the token again, is told once (one notice that says SMS
OTP ended), the end is audited, and the request shows it."""

import pytest

from accounts.models import AuditEvent
from corporate import selectors, services
from tests.corporate.conftest import HOTP, form_data, login
from tests.tokens.conftest import token_make
from tokens import hardware
from tokens.models import SmsMessage

pytestmark = pytest.mark.django_db


def test_activating_the_new_token_ends_the_fallback(rudi, officer, run_on_commit):
    item = services.request_submit(user=rudi, kind="token_replacement", data=form_data(rudi))
    services.request_approve(corporate_request=item, actor=officer)
    rudi.refresh_from_db()
    assert rudi.confirmation_method == "sms"
    client = login(rudi)
    page = client.get("/profil/").content.decode()
    assert "SMS OTP sementara" in page and "CT10000002" in page and "Baterai habis" in page
    detail = client.get(f"/corporate/pengajuan/{item.reference}/").content.decode()
    assert "sampai token baru Anda diaktifkan" in detail

    # The branch hands over a new token; rudi activates it in Profil Saya.
    new = token_make("CT10000099", state="in_stock")
    hardware.token_assign(token=new, user=rudi, actor=officer, reason="token baru", ip=None)
    last = SmsMessage.objects.order_by("-pk").values_list("pk", flat=True).first()
    response = run_on_commit(
        client.post,
        "/profil/aktivasi-token/",
        {"birth_date": "17/08/1988", "serial": "CT10000099", "code": HOTP.at(0)},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rudi.refresh_from_db()
    assert rudi.confirmation_method == "hardware_token"
    ended = AuditEvent.objects.get(action=AuditEvent.Action.SMS_FALLBACK_ENDED)
    assert (ended.subject, ended.actor, ended.data) == (rudi, rudi, {"serial": "CT10000099"})
    # Told once, in words that say SMS OTP ended.
    told = SmsMessage.objects.filter(user=rudi, pk__gt=last)
    assert [m.notice["text"] for m in told] == [hardware.lifecycle.TOKEN_FALLBACK_ENDED_TEXT]
    item.refresh_from_db()
    assert selectors.fallback_ended_at(item) is not None
    detail = client.get(f"/corporate/pengajuan/{item.reference}/").content.decode()
    assert "SMS OTP sementara berakhir pada" in detail
    profile = client.get("/profil/").content.decode()
    assert "SMS OTP sementara" not in profile and "CT10000099" in profile


def test_a_first_activation_is_no_fallback_end(customer_client, customer, run_on_commit):
    token = token_make("CT10000077", state="assigned", user=customer)
    assert token.state == "assigned"
    response = run_on_commit(
        customer_client.post,
        "/profil/aktivasi-token/",
        {"birth_date": "17/08/1988", "serial": "CT10000077", "code": HOTP.at(0)},
    )
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="sms_fallback_ended").exists()
    assert SmsMessage.objects.get(user=customer).notice["text"] == (
        hardware.lifecycle.TOKEN_ACTIVATED_TEXT
    )
