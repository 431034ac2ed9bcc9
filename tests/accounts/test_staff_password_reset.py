"""Passwords the bank sets (issue 10 item 6, last sentence): "Reset kata sandi" on the
customer's staff page, and the first password of an account the bank opened. Staff never see,
choose or send a password; the customer sets a new one ("Lupa Password?" after a reset, Ganti
Password at the first login)."""

import re
from decimal import Decimal
from importlib import import_module

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db.models import Sum
from django.test import Client

from accounts import exceptions, services
from accounts.models import AccessBlock, AuditEvent, User
from payments.models import BankAccount, LedgerEntry, Transfer
from tests.accounts.test_admin import staff_client, staff_make
from tests.conftest import outbox_code
from tests.factories import PASSWORD, UserFactory
from tokens.models import OutboxMessage

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Sandi-Baru-Budi-77"
REASON = "Nasabah telepon, identitas dicek: nama ibu kandung dan tanggal lahir"


def reset_url(customer) -> str:
    return f"/admin/accounts/user/{customer.pk}/password-reset/"


def session_exists(session_key: str) -> bool:
    return import_module(settings.SESSION_ENGINE).SessionStore().exists(session_key)


def forgotten_password(run_on_commit, password=NEW_PASSWORD):
    """Budi's "Lupa Password?" from the login page, with the code from the outbox."""
    client = Client()
    response = run_on_commit(
        client.post,
        "/lupa-password/",
        {"user_id": "budi", "birth_date": "17/08/1988", "account_number": "1001000011"},
    )
    assert response["Location"] == "/lupa-password/kode/"
    response = client.post("/lupa-password/kode/", {"code": outbox_code()})
    assert response["Location"] == "/lupa-password/baru/"
    response = run_on_commit(
        client.post, "/lupa-password/baru/", {"new_password1": password, "new_password2": password}
    )
    assert response["Location"] == "/lupa-password/selesai/"


# --- who may do it --------------------------------------------------------------------------


@pytest.mark.parametrize("role, allowed", [("agent", True), ("supervisor", True), ("branch", False)])
def test_the_service_checks_the_role(customer, role, allowed):
    actor, _ = staff_make(f"staf-{role}", role)
    if allowed:
        services.password_staff_reset(user=customer, actor=actor, reason=REASON)
        customer.refresh_from_db()
        assert not customer.has_usable_password() and customer.must_change_password
    else:
        with pytest.raises(exceptions.NotPermitted):
            services.password_staff_reset(user=customer, actor=actor, reason=REASON)
        customer.refresh_from_db()
        assert customer.check_password(PASSWORD) and not customer.must_change_password
        assert not AuditEvent.objects.filter(action=AuditEvent.Action.PASSWORD_SET_BY_STAFF).exists()


def test_a_role_without_the_permission_has_no_button_and_no_page(customer):
    client, _ = staff_client("branch")
    page = client.get(f"/admin/accounts/user/{customer.pk}/change/").content.decode()
    assert reset_url(customer) not in page
    assert client.get(reset_url(customer)).status_code == 403
    assert client.post(reset_url(customer), {"reason": REASON}).status_code == 403
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)


def test_not_on_their_own_record_nor_on_other_staff(customer):
    agent, _ = staff_make("staf-agent", "agent")
    other, _ = staff_make("staf-super", "supervisor")
    with pytest.raises(exceptions.OwnRecord):
        services.password_staff_reset(user=agent, actor=agent, reason=REASON)
    with pytest.raises(exceptions.NotACustomer):
        services.password_staff_reset(user=other, actor=agent, reason=REASON)
    other.refresh_from_db()
    assert other.check_password(PASSWORD) and not other.must_change_password
    # Nor by a customer.
    victim = UserFactory(user_id="siti")
    with pytest.raises(exceptions.NotPermitted):
        services.password_staff_reset(user=victim, actor=customer, reason=REASON)


def test_a_written_reason_is_required(customer):
    agent, _ = staff_make("staf-agent", "agent")
    with pytest.raises(exceptions.ReasonRequired):
        services.password_staff_reset(user=customer, actor=agent, reason="   ")
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)
    # The page says so and changes nothing.
    client, _ = staff_client("agent", "agen2")
    response = client.post(reset_url(customer), {"reason": "  "})
    assert response.status_code == 200
    assert "Bidang ini tidak boleh kosong." in response.content.decode()
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD) and not customer.must_change_password


# --- what it does ---------------------------------------------------------------------------


def test_reset_from_the_page_ends_sessions_tells_the_customer_and_audits(
    customer, customer_client, run_on_commit
):
    old_hash = customer.password
    session_key = customer_client.session.session_key
    assert session_exists(session_key)
    client, agent = staff_client("agent")
    overview = client.get(f"/admin/accounts/user/{customer.pk}/change/").content.decode()
    assert reset_url(customer) in overview
    page = client.get(reset_url(customer)).content.decode()
    assert "Lupa Password?" in page and 'name="password' not in page  # no password to see or type
    mail.outbox.clear()
    response = run_on_commit(client.post, reset_url(customer), {"reason": REASON})
    assert response.status_code == 302
    assert response["Location"] == f"/admin/accounts/user/{customer.pk}/change/"

    customer.refresh_from_db()
    assert not customer.has_usable_password() and customer.must_change_password
    # Every session ended: none is the customer's, the one they had is gone from the store.
    assert customer.session_key == "" and not session_exists(session_key)
    response = customer_client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    # The old password no longer logs in.
    assert Client().post("/login/", {"username": "budi", "password": PASSWORD}).status_code == 200

    # Told by SMS (no code, no password) and email, in Indonesian.
    sms = OutboxMessage.objects.filter(to=customer.phone).first()
    assert "Lupa Password?" in sms.body and "direset" in sms.body
    assert not re.search(r"\b\d{6}\b", sms.body)
    assert [m.to for m in mail.outbox] == [[customer.email]]
    assert "Lupa Password?" in mail.outbox[0].body

    # Audited with the reason; no secret (the hashes before and after) anywhere in the row.
    event = AuditEvent.objects.get(action=AuditEvent.Action.PASSWORD_SET_BY_STAFF)
    assert (event.subject, event.actor, event.reason) == (customer, agent, REASON)
    row = f"{event.reason} {event.data}"
    assert old_hash not in row and customer.password not in row
    assert AuditEvent.objects.filter(action=AuditEvent.Action.NOTICE_SENT, subject=customer).exists()
    # Staff see the password state on the customer's page.
    overview = client.get(f"/admin/accounts/user/{customer.pk}/change/").content.decode()
    assert "direset oleh bank: nasabah membuat kata sandi baru" in overview


def test_nothing_else_is_lifted(customer):
    AccessBlock.objects.create(user=customer, kind=AccessBlock.Kind.STAFF_FLAG, reason="dicurigai")
    agent, _ = staff_make("staf-agent", "agent")
    services.password_staff_reset(user=customer, actor=agent, reason=REASON)
    assert AccessBlock.objects.filter(user=customer).active().count() == 1


def test_the_forgotten_password_flow_sets_a_new_one_and_clears_the_flag(customer, run_on_commit):
    agent, _ = staff_make("staf-agent", "agent")
    services.password_staff_reset(user=customer, actor=agent, reason=REASON)
    forgotten_password(run_on_commit)
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD) and not customer.must_change_password
    client = Client()
    assert client.post("/login/", {"username": "budi", "password": NEW_PASSWORD}).status_code == 302
    assert client.get("/dashboard/").status_code == 200  # not sent to Ganti Password


# --- the first password of an account the bank opened ---------------------------------------


def test_initial_password_must_be_changed_at_first_login(db):
    user = UserFactory(user_id="rina")
    services.customer_initial_password_set(user=user, password="Rina-Awal-2026")
    user.refresh_from_db()
    assert user.check_password("Rina-Awal-2026") and user.must_change_password
    event = AuditEvent.objects.get(action=AuditEvent.Action.PASSWORD_SET_BY_STAFF, subject=user)
    assert "Rina-Awal-2026" not in f"{event.reason} {event.data}" and user.password not in str(event.data)
    client = Client()
    assert client.post("/login/", {"username": "rina", "password": "Rina-Awal-2026"}).status_code == 302
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"] == "/profil/password/"
    staff, _ = staff_make("staf-agent", "agent")
    with pytest.raises(exceptions.NotACustomer):
        services.customer_initial_password_set(user=staff, password="Rina-Awal-2026")


def test_demo_data_has_rina_with_a_first_password_and_history(settings):
    settings.DEBUG = True
    call_command("demo_data")
    call_command("demo_data")  # idempotent
    rina = User.objects.get(user_id="rina")
    assert rina.check_password("Rina-Awal-2026") and rina.must_change_password
    assert rina.full_name == "Rina Wulandari"
    others = User.objects.filter(user_id__in=["budi", "siti", "dewi"])
    assert rina.phone not in set(others.values_list("phone", flat=True))
    assert rina.email not in set(others.values_list("email", flat=True))
    account = BankAccount.objects.get(owner=rina)
    legs = LedgerEntry.objects.filter(account=account)
    assert legs.filter(amount__gt=0).count() >= 2 and legs.filter(amount__lt=0).count() >= 2
    assert legs.aggregate(total=Sum("amount"))["total"] == account.balance == Decimal("3250000")
    # The others' demo history is as it was.
    assert Transfer.objects.filter(reference__startswith="DEMO").count() == 28
