"""One hardware token per customer: a second one only replaces the first, which is retired with
what happened to it, audited, and the customer told (issue 10 item 13)."""

import threading

import pytest
from django.db import connection

from accounts.models import AuditEvent, EmailMessage, User
from tests.conftest import needs_postgres
from tests.tokens.conftest import staff_make, token_make
from tokens import exceptions, hardware
from tokens.models import HardwareToken, HardwareTokenDevice, SmsMessage

S = HardwareToken.State
LIST = "/admin/tokens/hardwaretoken/"


@pytest.fixture
def officer(db):
    return staff_make("cabang01", "branch")[0]


def assign(token, user, actor, **kwargs):
    return hardware.token_assign(token=token, user=user, actor=actor, reason="at the branch",
                                 ip="10.0.0.9", **kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize("held_state", [S.ASSIGNED, S.ACTIVE])
def test_a_second_token_is_refused_without_replace(customer, officer, held_state):
    old = token_make("FT10000001", state=held_state, user=customer)
    new = token_make("FT10000002")
    with pytest.raises(exceptions.TokenAlreadyHeld) as refused:
        assign(new, customer, officer)
    assert "FT10000001" in str(refused.value)
    old.refresh_from_db(), new.refresh_from_db()
    assert (old.state, new.state, new.user) == (held_state, S.IN_STOCK, None)
    assert not AuditEvent.objects.filter(
        action__in=[AuditEvent.Action.TOKEN_ASSIGNED, AuditEvent.Action.TOKEN_REPLACED]
    ).exists()
    assert not SmsMessage.objects.filter(user=customer).exists()


@pytest.mark.django_db
def test_a_token_no_longer_held_does_not_count(customer, officer):
    token_make("FT10000001", state=S.LOST, user=customer)
    token_make("FT10000003", state=S.REVOKED, user=customer)
    assign(token_make("FT10000002"), customer, officer)
    assert HardwareToken.objects.get(serial="FT10000002").state == S.ASSIGNED


@pytest.mark.django_db
@pytest.mark.parametrize("why", ["lost", "damaged", "battery_dead"])
def test_replace_retires_the_old_token_audits_and_tells_the_customer(customer, officer, why):
    old = token_make("FT10000001", state=S.ACTIVE, user=customer)
    HardwareTokenDevice.objects.create(user=customer, token=old, name="Token", confirmed=True)
    new = token_make("FT10000002")
    assign(new, customer, officer, replace=why)
    old.refresh_from_db(), new.refresh_from_db()
    assert (old.state, new.state, new.user) == (why, S.ASSIGNED, customer)
    assert not HardwareTokenDevice.objects.get(token=old).confirmed  # stops confirming at once
    replaced = AuditEvent.objects.get(action=AuditEvent.Action.TOKEN_REPLACED)
    assert (replaced.subject, replaced.actor, replaced.reason, replaced.ip_address) == (
        customer, officer, "at the branch", "10.0.0.9"
    )
    assert replaced.data == {"serial": "FT10000001", "from": "active", "to": why,
                             "new": "FT10000002"}
    assigned = AuditEvent.objects.get(action=AuditEvent.Action.TOKEN_ASSIGNED)
    assert assigned.data == {"serial": "FT10000002", "replaced": ["FT10000001"]}
    # Told by SMS and by email.
    sms = SmsMessage.objects.get(user=customer, challenge__isnull=True)
    assert sms.notice["params"] == {"old": "FT10000001", "serial": "FT10000002"}
    assert EmailMessage.objects.filter(to=customer.email).count() == 1


@pytest.mark.django_db
def test_replace_with_an_unknown_reason_is_refused(customer, officer):
    token_make("FT10000001", state=S.ACTIVE, user=customer)
    with pytest.raises(exceptions.TokenActionRefused):
        assign(token_make("FT10000002"), customer, officer, replace="revoked")
    assert HardwareToken.objects.get(serial="FT10000001").state == S.ACTIVE


@pytest.mark.django_db
def test_the_admin_refuses_then_replaces_in_indonesian(customer, staff_client):
    client, officer = staff_client("branch")
    client.cookies["django_language"] = "id"
    token_make("FT10000001", state=S.ACTIVE, user=customer)
    new = token_make("FT10000002")
    page = client.get(f"{LIST}{new.pk}/assign/").content.decode()
    assert "Ganti: token lama hilang" in page
    response = client.post(f"{LIST}{new.pk}/assign/", {"user_id": "budi", "reason": "cabang"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "budi sudah memegang token FT10000001" in html
    assert HardwareToken.objects.get(pk=new.pk).state == S.IN_STOCK
    response = client.post(
        f"{LIST}{new.pk}/assign/",
        {"user_id": "budi", "replace": "lost", "reason": "nasabah kehilangan token"},
        follow=True,
    )
    html = response.content.decode()
    assert "menggantikan FT10000001" in html, html[-3000:]
    assert HardwareToken.objects.get(serial="FT10000001").state == S.LOST


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_parallel_assignments_to_one_customer_give_one_token(customer):
    officer = staff_make("cabang01", "branch")[0]
    tokens = [token_make(f"FT1000000{i}") for i in (1, 2)]
    barrier, results = threading.Barrier(2), []

    def submit(token):
        try:
            barrier.wait()
            user = User.objects.get(pk=customer.pk)
            assign(token, user, officer)
            results.append("assigned")
        except exceptions.TokenAlreadyHeld:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["assigned", "refused"]
    assert HardwareToken.objects.filter(user=customer, state=S.ASSIGNED).count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.TOKEN_ASSIGNED).count() == 1
