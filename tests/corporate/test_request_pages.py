"""What a company's user reads on the request pages after the new-user walk: the status in
customers' words, the bank's message only when it is the bank's answer (an earlier one labelled
with its date), when a correction was resubmitted, a way back to the dashboard, the payments
waiting for the user's approval, and every refusal of the form in one round."""

import pytest

from corporate import services
from corporate.models import CorporateRequest
from tests.corporate.conftest import NEW_PHONE, form_data, login, upload

pytestmark = pytest.mark.django_db

LIST = "/corporate/pengajuan/"
TOKEN = "/corporate/pengajuan/baru/token/"


def submitted(user, **changes):
    document = upload() if changes else None
    return services.request_submit(
        user=user, kind="token_replacement", data=form_data(user, **changes), document=document
    )


def test_after_a_resubmission_the_old_message_is_labelled_and_the_date_shown(rudi, officer):
    item = submitted(rudi)
    services.request_return(corporate_request=item, actor=officer, message="Seri salah ketik")
    client = login(rudi)
    listing = client.get(LIST).content.decode()
    assert "Perlu perbaikan" in listing and "badge-action" in listing
    assert f'href="/corporate/pengajuan/{item.reference}/perbaiki/"' in listing
    assert ">Perbaiki</a>" in listing
    detail = client.get(f"/corporate/pengajuan/{item.reference}/").content.decode()
    assert "Pesan dari bank" in detail and "Seri salah ketik" in detail
    services.request_resubmit(corporate_request=item, user=rudi, data=form_data(rudi))
    item.refresh_from_db()
    detail = client.get(f"/corporate/pengajuan/{item.reference}/").content.decode()
    assert "Diajukan" in detail and "Diajukan ulang" in detail
    assert "Pesan sebelumnya dari bank" in detail and "perbaikan diminta" in detail
    assert "<dt>Pesan dari bank</dt>" not in detail
    listing = client.get(LIST).content.decode()
    assert "diajukan ulang" in listing and "Sebelumnya (" in listing
    assert ">Perbaiki</a>" not in listing


def test_customers_read_being_processed_while_a_supervisor_decides(rudi, officer):
    item = submitted(rudi, phone=NEW_PHONE)
    services.request_approve(corporate_request=item, actor=officer, message="cek KTP")
    client = login(rudi)
    for page in (client.get(LIST), client.get(f"/corporate/pengajuan/{item.reference}/")):
        text = page.content.decode()
        assert "Sedang diproses bank" in text
        assert "Menunggu persetujuan supervisor" not in text
        # The officer's word is not the bank's answer yet.
        assert "cek KTP" not in text


def test_the_message_of_an_answer_is_shown_with_its_date(rudi, officer):
    item = submitted(rudi)
    services.request_reject(corporate_request=item, actor=officer, message="Bukan pemilik")
    item.refresh_from_db()
    detail = login(rudi).get(f"/corporate/pengajuan/{item.reference}/").content.decode()
    assert "Pesan dari bank" in detail and "Bukan pemilik" in detail
    assert item.rejected_at.astimezone().strftime("%d/%m/%Y") in detail


def test_an_approval_without_a_message_does_not_show_the_old_correction(rudi, officer):
    item = submitted(rudi)
    services.request_return(corporate_request=item, actor=officer, message="Seri salah ketik")
    services.request_resubmit(corporate_request=item, user=rudi, data=form_data(rudi))
    services.request_approve(corporate_request=item, actor=officer)
    detail = login(rudi).get(f"/corporate/pengajuan/{item.reference}/").content.decode()
    assert "Disetujui" in detail and "Seri salah ketik" not in detail


def test_the_reference_stays_on_one_line(rudi):
    item = submitted(rudi)
    listing = login(rudi).get(LIST).content.decode()
    assert 'class="reference"><a href="/corporate/pengajuan/' + item.reference in listing
    assert "css/corporate.css" in listing
    with open("static/css/corporate.css") as css:
        assert ".corporate-requests .reference" in css.read()


def test_after_filing_the_dashboard_and_the_waiting_payments_are_offered(rudi, monkeypatch):
    monkeypatch.setattr("corporate.views.approvals_waiting_count", lambda *, user: 2)
    client = login(rudi)
    response = client.post(TOKEN, form_data(rudi), follow=True)
    page = response.content.decode()
    assert 'href="/dashboard/"' in page
    assert "Kembali ke rekening saya" in page
    assert (
        "2 pembayaran perusahaan Anda menunggu persetujuan Anda: pembayaran yang menunggu "
        "persetujuan Anda dapat disetujui setelah pengajuan ini disetujui bank."
    ) in page


def test_no_waiting_payment_hint_without_waiting_payments(rudi):
    client = login(rudi)
    page = client.post(TOKEN, form_data(rudi), follow=True).content.decode()
    assert "menunggu persetujuan Anda" not in page


def test_phone_and_email_fields_say_a_new_value_is_typed_there(rudi):
    page = login(rudi).get(TOKEN).content.decode()
    assert "Ponsel Terdaftar" in page and "E-mail Terdaftar" in page
    assert (
        "Nomor yang terdaftar di bank. Bila berubah, ketik nomor baru dan lampirkan formulir "
        "pengkinian data."
    ) in page
    assert (
        "E-mail yang terdaftar di bank. Bila berubah, ketik e-mail baru dan lampirkan formulir "
        "pengkinian data."
    ) in page
    assert "reason-choices" in page and "css/corporate.css" in page


def test_a_missing_reason_does_not_hide_a_missing_signed_form(rudi):
    client = login(rudi)
    response = client.post(TOKEN, form_data(rudi, reason="", phone=NEW_PHONE, cif="X"))
    errors = response.context["form"].errors
    assert errors["reason"] == ["Pilih alasan token tidak berfungsi lagi."]
    assert errors["document"][0].startswith("Ponsel atau e-mail berbeda dengan data bank")
    assert errors["cif"] and not CorporateRequest.objects.exists()


def test_the_service_refuses_a_missing_reason(rudi):
    from corporate import exceptions

    with pytest.raises(exceptions.RequestRefused) as refused:
        services.request_submit(
            user=rudi, kind="token_replacement", data=form_data(rudi, reason="")
        )
    assert [e.code for e in refused.value.errors] == ["reason_required"]
