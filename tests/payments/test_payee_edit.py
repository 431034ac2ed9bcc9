"""A saved payee's nickname is edited, a payee deleted after asking; only one's own, audited; the
account never changes, and adding one still needs an OTP (issue 10 item 8)."""

from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import AuditEvent
from payments import services
from payments.models import BankAccount, LedgerEntry, Payee, Transfer
from tests.conftest import outbox_code
from tests.factories import PASSWORD, BankAccountFactory

pytestmark = pytest.mark.django_db


def account(number):
    return BankAccount.objects.get(number=number)


@pytest.fixture
def payee(customer, other_customer, django_capture_on_commit_callbacks):
    """Siti's account, saved by Budi as "Siti kos" and confirmed with an OTP."""
    payee = services.payee_create(user=customer, account=account("1002000017"), nickname="Siti kos")
    with django_capture_on_commit_callbacks(execute=True):
        services.payee_challenge_issue(payee=payee)
    return services.payee_confirm(payee=payee, code=outbox_code())


def audits(action):
    return list(AuditEvent.objects.filter(action=action))


def test_the_list_offers_rename_and_delete(customer_client, payee):
    page = customer_client.get("/payees/").content.decode()
    assert f'href="/payees/{payee.pk}/edit/"' in page and f'href="/payees/{payee.pk}/delete/"' in page
    assert "Ubah nama" in page and "Hapus" in page


def test_rename_needs_no_otp_and_is_audited(customer_client, payee):
    url = f"/payees/{payee.pk}/edit/"
    page = customer_client.get(url).content.decode()
    assert 'value="Siti kos"' in page and 'name="code"' not in page
    assert 'name="account_number"' not in page  # the account is shown, not editable

    response = customer_client.post(url, {"nickname": "  Ibu kos  "}, follow=True)
    assert response.redirect_chain[-1][0] == "/payees/"
    assert "Penerima Siti kos sekarang bernama Ibu kos." in response.content.decode()
    payee.refresh_from_db()
    assert payee.nickname == "Ibu kos" and payee.status == Payee.Status.ACTIVE
    [event] = audits(AuditEvent.Action.PAYEE_CHANGED)
    assert event.data == {"payee": payee.pk, "account": "****0017", "old": "Siti kos", "new": "Ibu kos"}
    assert event.actor_id == event.subject_id == payee.owner_id
    # The new nickname is what the transfer form offers.
    assert "Ibu kos – 1002000017" in customer_client.get("/transfers/new/").content.decode()


def test_the_destination_cannot_be_changed_by_a_rename(customer_client, customer, payee):
    BankAccountFactory(owner=customer, number="1001000037")
    customer_client.post(
        f"/payees/{payee.pk}/edit/", {"nickname": "Lain", "account_number": "1001000037"}
    )
    payee.refresh_from_db()
    assert payee.account.number == "1002000017"


def test_a_bad_nickname_is_refused(customer_client, payee):
    for nickname in ("", "   ", "x" * 41):
        response = customer_client.post(f"/payees/{payee.pk}/edit/", {"nickname": nickname})
        assert response.status_code == 200 and response.context["form"].errors
    payee.refresh_from_db()
    assert payee.nickname == "Siti kos"
    assert not audits(AuditEvent.Action.PAYEE_CHANGED)


def test_the_same_nickname_again_changes_nothing(customer, payee):
    services.payee_rename(payee=payee, user=customer, nickname="Siti kos")
    assert not audits(AuditEvent.Action.PAYEE_CHANGED)


def test_delete_asks_first_then_deletes_and_keeps_past_transfers(customer_client, customer, payee):
    transfer = services.transfer_create(
        user=customer, source=account("1001000011"), destination=account("1002000017"),
        amount=Decimal("250000"), description="",
    )
    services._draft_start(transfer)
    services._transfer_execute(transfer)

    url = f"/payees/{payee.pk}/delete/"
    page = customer_client.get(url).content.decode()
    assert "Siti kos" in page and 'method="post"' in page and "Hapus penerima?" in page
    assert Payee.objects.filter(pk=payee.pk).exists()  # asking is not deleting

    response = customer_client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == "/payees/"
    assert "Penerima Siti kos (rekening ****0017) telah dihapus." in response.content.decode()
    assert not Payee.objects.filter(pk=payee.pk).exists()
    [event] = audits(AuditEvent.Action.PAYEE_DELETED)
    assert event.data == {"payee": payee.pk, "account": "****0017", "old": "Siti kos"}
    # The transfer made to the account is untouched, and listed as before.
    assert Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.COMPLETED
    assert LedgerEntry.objects.filter(transfer=transfer).count() == 2
    assert transfer.reference in customer_client.get("/transfers/").content.decode()
    assert "Siti kos – 1002000017" not in customer_client.get("/transfers/new/").content.decode()


def test_adding_it_again_needs_an_otp_again(customer_client, customer, payee):
    customer_client.post(f"/payees/{payee.pk}/delete/")
    response = customer_client.post(
        "/payees/new/", {"account_number": "1002000017", "nickname": "Siti lagi"}
    )
    again = Payee.objects.get(nickname="Siti lagi")
    assert response["Location"] == f"/payees/{again.pk}/confirm/"
    assert again.status == Payee.Status.PENDING


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("action", ["edit", "delete"])
def test_only_ones_own_saved_payees(client, payee, other_customer, method, action):
    assert client.post("/login/", {"username": "siti", "password": PASSWORD}).status_code == 302
    response = getattr(client, method)(f"/payees/{payee.pk}/{action}/", {"nickname": "Mine"})
    assert response.status_code == 404
    payee.refresh_from_db()
    assert payee.nickname == "Siti kos"
    assert not audits(AuditEvent.Action.PAYEE_DELETED) and not audits(AuditEvent.Action.PAYEE_CHANGED)


def test_a_payee_waiting_for_its_otp_is_not_edited_here(customer_client, customer, other_customer):
    pending = services.payee_create(user=customer, account=account("1002000017"), nickname="Siti")
    for action in ("edit", "delete"):
        assert customer_client.post(f"/payees/{pending.pk}/{action}/", {"nickname": "X"}).status_code == 404
    assert Payee.objects.get(pk=pending.pk).nickname == "Siti"


def test_services_refuse_someone_elses_payee(payee, other_customer):
    with pytest.raises(Payee.DoesNotExist):
        services.payee_rename(payee=payee, user=other_customer, nickname="Mine")
    with pytest.raises(Payee.DoesNotExist):
        services.payee_delete(payee=payee, user=other_customer)
    assert Payee.objects.get(pk=payee.pk).nickname == "Siti kos"


def test_rename_and_delete_need_the_csrf_token(customer, payee):
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    login = {"username": "budi", "password": PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    assert client.post("/login/", login).status_code == 302
    assert client.post(f"/payees/{payee.pk}/edit/", {"nickname": "X"}).status_code == 403
    assert client.post(f"/payees/{payee.pk}/delete/").status_code == 403
    assert Payee.objects.get(pk=payee.pk).nickname == "Siti kos"
