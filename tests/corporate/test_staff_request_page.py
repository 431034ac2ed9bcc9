"""The staff's request page, queue, signed form, company page and company audit trail after
the walk: both sides of the comparison shown alike (in full to processing staff) with the
differing rows marked, buttons worded by step, "Tolak" in a danger style, a missing reason on
the field, the officer's queue without the supervisor's step, the form shown inline (sandboxed,
audited) and a replaced one named, users with their method and token, and the audit trail with
the IP, the reference and typed User IDs; a refusal in the admin's look."""

import pytest
from django.conf import settings

from accounts.models import AuditEvent, User
from corporate import services
from tests.corporate.conftest import (
    NEW_PHONE,
    PDF,
    PNG,
    form_data,
    login,
    staff,
    staff_login,
    upload,
)

pytestmark = pytest.mark.django_db

ADMIN = "/admin/corporate/corporaterequest/"


def submitted(user, **changes):
    document = upload() if changes else None
    return services.request_submit(
        user=user, kind="token_replacement", data=form_data(user, **changes), document=document
    )


def indonesian(client):
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    return client


def test_comparison_shows_both_sides_in_full_and_marks_the_difference(rudi):
    item = submitted(rudi, phone=NEW_PHONE)
    client = indonesian(staff_login(staff("staf-cabang", "branch")))
    page = client.get(f"{ADMIN}{item.pk}/change/").content.decode()
    assert NEW_PHONE in page and "+6281200000002" in page
    assert page.count('class="differs"') == 1 and "(berbeda)" in page
    assert "perlu supervisor selain petugas" in page
    assert "Setujui sebagai petugas: lalu supervisor selain Anda menyetujui" in page
    assert 'class="button-danger"' in page and "Tolak" in page
    assert "css/corporate.css" in page


def test_after_approval_no_supervisor_note(rudi, officer, supervisor):
    item = submitted(rudi, phone=NEW_PHONE)
    services.request_approve(corporate_request=item, actor=officer)
    services.request_approve(corporate_request=item, actor=supervisor)
    client = indonesian(staff_login(staff("staf-kepala3", "supervisor")))
    page = client.get(f"{ADMIN}{item.pk}/change/").content.decode()
    assert "perlu supervisor selain petugas" not in page
    assert "Diubah saat disetujui:" in page


def test_a_supervisor_at_the_officer_step_reads_the_officer_wording(rudi):
    item = submitted(rudi, phone=NEW_PHONE)
    client = indonesian(staff_login(staff("staf-kepala", "supervisor")))
    page = client.get(f"{ADMIN}{item.pk}/change/").content.decode()
    assert "Setujui sebagai petugas: lalu supervisor selain Anda menyetujui" in page
    assert "Setujui sebagai supervisor" not in page


def test_a_missing_reason_marks_the_field(rudi):
    item = submitted(rudi)
    client = indonesian(staff_login(staff("staf-cabang", "branch")))
    response = client.post(f"{ADMIN}{item.pk}/reject/", {"message": " "})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'aria-invalid="true"' in page and "field-invalid" in page
    assert response.context["form"].errors["message"]


def test_the_officer_queue_leaves_out_the_supervisor_step(rudi, andi, officer):
    waiting = submitted(rudi, phone=NEW_PHONE)
    services.request_approve(corporate_request=waiting, actor=officer)
    fresh = submitted(andi)
    officer2 = indonesian(staff_login(staff("staf-cabang2", "branch")))
    queue = officer2.get(ADMIN).content.decode()
    assert f"{ADMIN}{fresh.pk}/change/" in queue
    assert f"{ADMIN}{waiting.pk}/change/" not in queue
    own_filter = officer2.get(f"{ADMIN}?queue=supervisor").content.decode()
    assert f"{ADMIN}{waiting.pk}/change/" in own_filter and "Menunggu supervisor" in own_filter
    boss = indonesian(staff_login(staff("staf-kepala", "supervisor")))
    queue = boss.get(ADMIN).content.decode()
    assert f"{ADMIN}{waiting.pk}/change/" in queue and f"{ADMIN}{fresh.pk}/change/" in queue


def test_the_breadcrumb_does_not_repeat(rudi):
    client = indonesian(staff_login(staff("staf-cabang", "branch")))
    page = client.get(ADMIN).content.decode()
    assert "Pengajuan corporate &rsaquo; Pengajuan corporate" not in page
    assert "Layanan corporate" in page


@pytest.mark.parametrize(
    "content, name, mime", [(PDF, "f.pdf", "application/pdf"), (PNG, "f.png", "image/png")]
)
def test_the_signed_form_is_shown_inline_sandboxed_and_audited(rudi, content, name, mime):
    item = services.request_submit(
        user=rudi,
        kind="token_replacement",
        data=form_data(rudi, phone=NEW_PHONE),
        document=upload(content, name, mime),
    )
    client = staff_login(staff("staf-cabang", "branch"))
    page = client.get(f"{ADMIN}{item.pk}/change/").content.decode()
    assert f"{ADMIN}{item.pk}/document/view/" in page
    response = client.get(f"{ADMIN}{item.pk}/document/view/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == content
    assert response["Content-Disposition"].startswith("inline")
    assert response["Content-Type"] == mime
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert response["Cache-Control"].startswith("no-store")
    viewed = AuditEvent.objects.get(action="corporate_document_viewed")
    assert viewed.data["shown"] == "inline" and viewed.subject == rudi


def test_the_inline_form_is_refused_like_the_download(rudi, client):
    item = submitted(rudi, phone=NEW_PHONE)
    agent = staff_login(staff("staf-agen", "agent"))
    assert agent.get(f"{ADMIN}{item.pk}/document/view/").status_code == 403
    assert client.get(f"{ADMIN}{item.pk}/document/view/").status_code == 302
    assert login(rudi).get(f"{ADMIN}{item.pk}/document/view/").status_code == 302
    assert not AuditEvent.objects.filter(action="corporate_document_viewed").exists()


def test_a_replaced_signed_form_stays_named_on_the_staff_page(rudi, officer):
    item = services.request_submit(
        user=rudi,
        kind="token_replacement",
        data=form_data(rudi, phone=NEW_PHONE),
        document=upload(PDF, "pertama.pdf"),
    )
    services.request_return(corporate_request=item, actor=officer, message="Tanda tangan kabur")
    services.request_resubmit(
        corporate_request=item,
        user=rudi,
        data=form_data(rudi, phone=NEW_PHONE),
        document=upload(PNG, "kedua.png", "image/png"),
    )
    client = indonesian(staff_login(staff("staf-cabang2", "branch")))
    page = client.get(f"{ADMIN}{item.pk}/change/").content.decode()
    assert "kedua.png" in page
    assert "Formulir bertanda tangan sebelumnya (pertama.pdf, SHA-256" in page
    assert "diganti oleh perbaikan pengguna pada" in page and "WIB" in page


def test_company_page_users_with_link_method_and_token(rudi, andi, company):
    User.objects.filter(pk=rudi.pk).update(confirmation_method="sms")
    client = indonesian(staff_login(staff("staf-kepala", "supervisor")))
    page = client.get(f"/admin/accounts/company/{company.pk}/change/").content.decode()
    assert f'href="/admin/accounts/user/{rudi.pk}/change/"' in page
    assert "SMS OTP sementara" in page and "CT10000002" in page and "CT10000001" in page
    # No bold caption (the row's str) above each row of the users and the requests.
    for prefix in ("users", "requests"):
        assert f'<tr class="form-row has_original"\n             id="{prefix}-0"' not in page
    assert '<tr class="form-row has_original plain-row"\n             id="users-0"' in page
    users_row = page.split('id="users-0"', 1)[1].split("</tr>", 1)[0]
    assert "<p>" not in users_row.split('<td class="field-user_link">', 1)[0]
    # The company's creation time in the format of every staff page, with WIB.
    import re

    created = page.split("field-created", 1)[1].split('class="readonly">', 1)[1]
    assert re.match(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} WIB<", created), created[:80]


def test_company_audit_trail_has_ip_reference_and_typed_user_ids(rudi, company):
    item = services.request_submit(
        user=rudi, kind="token_replacement", data=form_data(rudi), ip="10.1.2.3"
    )
    client = indonesian(staff_login(staff("staf-kepala", "supervisor")))
    trail = client.get(f"{ADMIN}company-audit/?company={company.pk}").content.decode()
    assert "10.1.2.3" in trail and item.reference in trail
    assert "rudi (MAJUBERSAMA)" in trail and "alamat IP" in trail


def test_company_audit_trail_refusal_is_the_admins(company):
    officer = indonesian(staff_login(staff("staf-cabang", "branch")))
    response = officer.get(f"{ADMIN}company-audit/?company={company.pk}")
    page = response.content.decode()
    assert response.status_code == 403
    assert "Peran Anda tidak mengizinkan halaman ini." in page
    assert "Kembali ke beranda staf" in page and "Rekening Saya" not in page
