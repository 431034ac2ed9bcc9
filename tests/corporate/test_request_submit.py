"""A company's user files the bank's form (issue 11 item 3): fields checked against the bank's
records with exact errors, a signed form when the phone or email differ (checked by its
bytes, stored outside any public path), one open request per kind, and no token needed."""

import hashlib
import os
import stat
from pathlib import Path

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import AuditEvent
from corporate import exceptions, services
from corporate.models import CorporateRequest
from tests.corporate.conftest import EXE, JPG, NEW_PHONE, PDF, PNG, form_data, login, upload
from tests.factories import UserFactory
from tokens import selectors as otp_selectors
from tokens.exceptions import NoUsableToken

pytestmark = pytest.mark.django_db

TOKEN = "/corporate/pengajuan/baru/token/"
CONTACT = "/corporate/pengajuan/baru/kontak/"


def post(client, url, data, document=None):
    payload = dict(data)
    if document is not None:
        payload["document"] = document
    return client.post(url, payload)


def test_the_form_is_prefilled_from_the_banks_records_and_needs_no_token(rudi):
    client = login(rudi)
    # The token died: rudi cannot confirm anything, yet logs in and files the form.
    rudi.hardware_tokens.update(state="battery_dead")
    with pytest.raises(NoUsableToken):
        otp_selectors.confirmation_channel(user=rudi)
    page = client.get(TOKEN).content.decode()
    assert "Penggantian Hard Token ke SMS OTP" in page
    for label in (
        "Nama Perusahaan",
        "CIF",
        "ID Corporate",
        "User ID",
        "Seri Hard Token",
        "Ponsel Terdaftar",
        "E-mail Terdaftar",
        "Alasan",
        "Baterai habis / berdaya rendah",
        "Hilang",
        "Rusak",
        "Formulir pengkinian data (bertanda tangan)",
    ):
        assert label in page, label
    for value in (
        "PT Maju Bersama",
        "C000123",
        "MAJUBERSAMA",
        'value="rudi"',
        "CT10000002",
        "rudi@majubersama.co.id",
    ):
        assert value in page, value
    assert 'enctype="multipart/form-data"' in page


def test_submit_without_change_needs_no_signed_form(rudi, run_on_commit):
    client = login(rudi)
    response = post(client, TOKEN, form_data(rudi))
    item = CorporateRequest.objects.get()
    assert (
        response.status_code == 302
        and response["Location"] == f"/corporate/pengajuan/{item.reference}/"
    )
    assert (item.kind, item.status, item.token_serial, item.reason) == (
        "token_replacement",
        "submitted",
        "CT10000002",
        "battery_dead",
    )
    assert (item.new_phone, item.new_email, item.document_path) == ("", "", "")
    event = AuditEvent.objects.get(action=AuditEvent.Action.CORPORATE_REQUEST_SUBMITTED)
    assert event.subject == rudi and event.actor == rudi and event.data["request"] == item.pk
    page = client.get(response["Location"]).content.decode()
    assert "Diajukan" in page and item.reference in page


FIELD_ERRORS = [
    ("company_name", "PT Lain Sekali", "Nama Perusahaan tidak sesuai dengan data bank."),
    ("cif", "C999999", "CIF tidak sesuai dengan data bank."),
    ("corporate_id", "BINTANG", "ID Corporate tidak sesuai dengan data bank."),
    ("user_id", "andi", "User ID tidak sama dengan User ID yang Anda gunakan untuk login."),
    (
        "token_serial",
        "CT10000001",
        "Seri Hard Token ini bukan token yang terdaftar atas nama Anda.",
    ),
]


@pytest.mark.parametrize("field, typed, error", FIELD_ERRORS)
def test_each_field_is_checked_against_the_records(rudi, andi, field, typed, error):
    client = login(rudi)
    response = post(client, TOKEN, form_data(rudi, **{field: typed}))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert response.context["form"].errors[field] == [error]
    assert not CorporateRequest.objects.exists()


def test_records_match_as_people_write_them(rudi):
    data = form_data(
        rudi,
        company_name="  pt  maju BERSAMA ",
        cif="c000123",
        corporate_id="majubersama",
        user_id="RUDI",
        token_serial="ct-1000 0002",
    )
    item = services.request_submit(user=rudi, kind="token_replacement", data=data)
    assert item.token_serial == "CT10000002"


def test_every_mismatch_is_shown_at_once(rudi):
    with pytest.raises(exceptions.RequestRefused) as refused:
        services.request_submit(
            user=rudi,
            kind="token_replacement",
            data=form_data(rudi, cif="X", corporate_id="Y", token_serial="Z1234"),
        )
    assert [e.code for e in refused.value.errors] == [
        "cif_mismatch",
        "corporate_id_mismatch",
        "serial_mismatch",
    ]


def test_a_new_phone_needs_the_signed_form(rudi):
    client = login(rudi)
    response = post(client, TOKEN, form_data(rudi, phone=NEW_PHONE))
    assert response.context["form"].errors["document"] == [
        "Ponsel atau e-mail berbeda dengan data bank: lampirkan formulir pengkinian data yang "
        "Anda tanda tangani (PDF, JPG atau PNG)."
    ]
    # The same rule in the service, whatever the form does.
    with pytest.raises(exceptions.RequestRefused) as refused:
        services.request_submit(
            user=rudi,
            kind="token_replacement",
            data=form_data(rudi, email="baru@majubersama.co.id"),
        )
    assert refused.value.errors[0].code == "document_required"
    assert not CorporateRequest.objects.exists()


@pytest.mark.parametrize(
    "content, name",
    [(PDF, "form.pdf"), (PNG, "scan.png"), (JPG, "foto-ktp.jpg"), (PDF, "named-wrongly.png")],
)
def test_signed_form_stored_outside_public_paths_by_a_random_name(rudi, content, name):
    client = login(rudi)
    response = post(
        client,
        TOKEN,
        form_data(rudi, phone=NEW_PHONE),
        upload(content, name, content_type="text/plain"),
    )
    assert response.status_code == 302
    item = CorporateRequest.objects.get()
    assert str(item.new_phone) == NEW_PHONE and item.document_name == name
    kind = {PDF: "application/pdf", PNG: "image/png", JPG: "image/jpeg"}[content]
    assert item.document_type == kind  # by the bytes, not the name or the browser
    assert item.document_size == len(content)
    assert item.document_sha256 == hashlib.sha256(content).hexdigest()
    stored = Path(settings.CORPORATE_UPLOAD_DIR) / item.document_path
    assert stored.read_bytes() == content
    assert name.split(".")[0] not in item.document_path and len(item.document_path) >= 32
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
    for public in (settings.STATIC_ROOT, getattr(settings, "MEDIA_ROOT", None)):
        if public:
            assert not str(stored).startswith(str(public))
    # The audit keeps the new number masked.
    event = AuditEvent.objects.get(action="corporate_request_submitted")
    assert NEW_PHONE not in str(event.data) and event.data["new_phone"].endswith("8888")


UPLOAD_ERRORS = [
    (
        "an .exe renamed to .pdf",
        EXE,
        "laporan.pdf",
        "Berkas bukan dokumen PDF, JPG atau PNG (isinya yang diperiksa, bukan namanya).",
    ),
    (
        "a .txt renamed to .pdf",
        b"Saya setuju mengganti nomor ponsel.\n" * 10,
        "surat.pdf",
        "Berkas bukan dokumen PDF, JPG atau PNG (isinya yang diperiksa, bukan namanya).",
    ),
    ("an empty file", b"", "kosong.pdf", "Berkas kosong."),
    (
        "a file over 5 MB",
        PDF + b"0" * (5 * 1024 * 1024),
        "besar.pdf",
        "Berkas lebih besar dari 5 MB.",
    ),
]


@pytest.mark.parametrize(
    "case, content, name, error", UPLOAD_ERRORS, ids=[c[0] for c in UPLOAD_ERRORS]
)
def test_upload_checks(rudi, case, content, name, error):
    client = login(rudi)
    response = post(
        client,
        TOKEN,
        form_data(rudi, phone=NEW_PHONE),
        upload(content, name, content_type="application/pdf"),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["document"]
    assert errors == [error]
    assert error in response.content.decode()
    assert not CorporateRequest.objects.exists()
    folder = Path(settings.CORPORATE_UPLOAD_DIR)
    assert not folder.exists() or not any(folder.iterdir())


@pytest.mark.parametrize(
    "content, code",
    [
        (EXE, "document_wrong_type"),
        (b"", "document_empty"),
        (PDF + b"0" * (5 * 1024 * 1024), "document_too_large"),
    ],
)
def test_upload_checks_hold_in_the_service(rudi, content, code):
    with pytest.raises(exceptions.RequestError) as refused:
        services.request_submit(
            user=rudi,
            kind="token_replacement",
            data=form_data(rudi, phone=NEW_PHONE),
            document=upload(content),
        )
    assert refused.value.code == code
    assert not CorporateRequest.objects.exists()


def test_one_open_request_per_user_and_kind(rudi):
    first = services.request_submit(user=rudi, kind="token_replacement", data=form_data(rudi))
    client = login(rudi)
    response = post(client, TOKEN, form_data(rudi))
    page = response.content.decode()
    assert (
        f"Anda sudah memiliki pengajuan {first.reference} yang masih berjalan (Diajukan): "
        "lihat Status pengajuan."
    ) in page
    assert f'href="/corporate/pengajuan/{first.reference}/"' in page
    assert CorporateRequest.objects.count() == 1
    # The database holds it too.
    with pytest.raises(IntegrityError), transaction.atomic():
        CorporateRequest.objects.create(
            kind="token_replacement",
            user=rudi,
            company=rudi.company,
            company_name="x",
            cif="x",
            corporate_id="x",
            typed_user_id="x",
            token_serial="x",
            reason="lost",
            phone=rudi.phone,
            email=rudi.email,
        )
    # Another kind is another request.
    services.request_submit(
        user=rudi,
        kind="contact_change",
        data=form_data(rudi, email="rudi.baru@majubersama.co.id"),
        document=upload(),
    )


def test_a_user_on_sms_needs_no_replacement(rudi):
    rudi.confirmation_method = "sms"
    rudi.save()
    with pytest.raises(exceptions.AlreadySms):
        services.request_submit(user=rudi, kind="token_replacement", data=form_data(rudi))


def test_a_contact_change_must_change_something(rudi):
    client = login(rudi)
    response = post(client, CONTACT, form_data(rudi), upload())
    assert (
        "Ponsel dan e-mail sama dengan data bank: isi yang baru yang Anda inginkan."
        in response.content.decode()
    )
    page = client.get(CONTACT).content.decode()
    assert "Seri Hard Token" not in page and "Alasan" not in page


def test_a_landline_cannot_become_the_phone(rudi):
    with pytest.raises(exceptions.RequestRefused) as refused:
        services.request_submit(
            user=rudi,
            kind="contact_change",
            data=form_data(rudi, phone="+62215551234"),
            document=upload(),
        )
    assert refused.value.errors[0].code == "phone_not_mobile"


def test_retail_customers_and_staff_get_404_and_are_refused_by_the_service(
    client, customer, officer
):
    client.post("/login/", {"username": customer.user_id, "password": "Rahasia-Uji-2026"})
    for url in (TOKEN, CONTACT, "/corporate/pengajuan/"):
        assert client.get(url).status_code == 404
    with pytest.raises(exceptions.NotCorporate):
        services.request_submit(user=customer, kind="token_replacement", data={})
    retail = UserFactory()
    with pytest.raises(exceptions.NotCorporate):
        services.request_submit(user=retail, kind="contact_change", data={})


def test_unknown_kind_is_404(rudi):
    assert login(rudi).get("/corporate/pengajuan/baru/lain/").status_code == 404
