"""Staff process corporate requests (issue 11 item 4): the officer asks for a correction,
rejects or approves; a change of phone or email needs a supervisor who is someone else; the
approval switches the user to SMS OTP, marks the old token and tells the user, in one
transaction. Every permission is checked in the service; every step is audited."""

import pytest
from django.db import IntegrityError, transaction

from accounts import exceptions as account_exceptions
from accounts.models import AuditEvent, EmailMessage, User
from corporate import exceptions, services
from corporate.models import CorporateRequest
from tests.corporate.conftest import (
    NEW_PHONE,
    PDF,
    form_data,
    login,
    staff,
    staff_login,
    upload,
)
from tokens.models import HardwareToken, OutboxMessage, SmsMessage

pytestmark = pytest.mark.django_db

ADMIN = "/admin/corporate/corporaterequest/"


def submitted(user, **changes):
    document = upload() if changes else None
    return services.request_submit(
        user=user, kind="token_replacement", data=form_data(user, **changes), document=document
    )


def actions(event_action):
    return AuditEvent.objects.filter(action=event_action)


# --- The officer alone: a replacement without a change of phone or email --------------------


def test_officer_approval_switches_to_sms_marks_the_token_and_tells_the_user(
    rudi, officer, run_on_commit, mailoutbox
):
    item = submitted(rudi)
    run_on_commit(services.request_approve, corporate_request=item, actor=officer, message="ok")
    item.refresh_from_db()
    rudi.refresh_from_db()
    assert (item.status, item.officer, item.supervisor) == ("approved", officer, None)
    assert item.approved_at is not None and item.old_token_state == "battery_dead"
    assert rudi.confirmation_method == "sms"
    assert HardwareToken.objects.get(serial="CT10000002").state == "battery_dead"
    # Told by SMS (to the registered phone) and by email: they can transact again.
    sms = OutboxMessage.objects.get(to=rudi.phone)
    assert item.reference in sms.body and "dapat bertransaksi kembali" in sms.body
    assert any(item.reference in m.body and "bertransaksi kembali" in m.body for m in mailoutbox)
    # Every part audited, by the officer.
    assert actions("corporate_request_approved").get().actor == officer
    changed = actions("token_state_changed").get()
    assert (changed.actor, changed.data["to"]) == (officer, "battery_dead")
    method = actions("confirmation_method_changed").get()
    assert (method.actor, method.data) == (officer, {"from": "hardware_token", "to": "sms"})


def test_the_user_confirms_with_sms_after_approval(rudi, officer):
    from tokens import selectors as otp_selectors

    services.request_approve(corporate_request=submitted(rudi), actor=officer)
    rudi.refresh_from_db()
    assert otp_selectors.confirmation_channel(user=rudi) == "sms"


def test_return_for_correction_and_resubmit(rudi, officer, run_on_commit):
    item = submitted(rudi)
    with pytest.raises(account_exceptions.ReasonRequired):
        services.request_return(corporate_request=item, actor=officer, message="  ")
    run_on_commit(
        services.request_return,
        corporate_request=item,
        actor=officer,
        message="Seri token salah ketik? Periksa kembali.",
    )
    item.refresh_from_db()
    assert item.status == "needs_correction" and item.returned_by == officer
    assert actions("corporate_request_returned").get().reason.startswith("Seri token")
    assert SmsMessage.objects.filter(user=rudi, notice__text=services.RETURNED_TEXT).exists()
    # The user sees the message and corrects.
    client = login(rudi)
    page = client.get(f"/corporate/pengajuan/{item.reference}/").content.decode()
    assert "Perlu perbaikan" in page and "Seri token salah ketik?" in page
    assert f"/corporate/pengajuan/{item.reference}/perbaiki/" in page
    form = client.get(f"/corporate/pengajuan/{item.reference}/perbaiki/").content.decode()
    assert "Seri token salah ketik?" in form and 'value="CT10000002"' in form
    response = client.post(
        f"/corporate/pengajuan/{item.reference}/perbaiki/", form_data(rudi, reason="damaged")
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.reason) == ("submitted", "damaged")
    assert item.resubmitted_at is not None
    assert actions("corporate_request_resubmitted").get().actor == rudi
    # Only while it needs correction.
    with pytest.raises(exceptions.NotCorrectable):
        services.request_resubmit(corporate_request=item, user=rudi, data=form_data(rudi))


def test_only_the_requests_own_user_corrects_it(rudi, andi, officer):
    item = submitted(rudi)
    services.request_return(corporate_request=item, actor=officer, message="Perbaiki")
    with pytest.raises(exceptions.NotCorrectable):
        services.request_resubmit(corporate_request=item, user=andi, data=form_data(andi))
    client = login(andi)
    response = client.get(f"/corporate/pengajuan/{item.reference}/perbaiki/")
    assert response.status_code == 302  # back to the request's page, which andi may read


def test_reject_with_a_reason_changes_nothing(rudi, officer, run_on_commit):
    item = submitted(rudi)
    with pytest.raises(account_exceptions.ReasonRequired):
        services.request_reject(corporate_request=item, actor=officer, message="")
    run_on_commit(
        services.request_reject, corporate_request=item, actor=officer, message="Bukan pemilik"
    )
    item.refresh_from_db()
    rudi.refresh_from_db()
    assert (item.status, item.staff_message, item.rejected_by) == (
        "rejected",
        "Bukan pemilik",
        officer,
    )
    assert rudi.confirmation_method == "hardware_token"
    assert actions("corporate_request_rejected").get().actor == officer
    # Decided: no second decision.
    with pytest.raises(exceptions.RequestNotInStep):
        services.request_approve(corporate_request=item, actor=officer)
    page = login(rudi).get("/corporate/pengajuan/").content.decode()
    assert "Ditolak" in page and "Bukan pemilik" in page


# --- Four eyes: a change of phone or email --------------------------------------------------


def test_a_phone_change_waits_for_a_supervisor_who_is_not_the_officer(
    rudi, andi, officer, supervisor, supervisor2, run_on_commit, mailoutbox
):
    old_phone = str(rudi.phone)
    item = submitted(rudi, phone=NEW_PHONE)
    services.request_approve(corporate_request=item, actor=officer)
    item.refresh_from_db()
    rudi.refresh_from_db()
    assert item.status == "awaiting_supervisor" and item.officer == officer
    assert str(rudi.phone) == old_phone and rudi.confirmation_method == "hardware_token"
    # The officer cannot take the supervisor's step (no permission) …
    with pytest.raises(account_exceptions.NotPermitted):
        services.request_approve(corporate_request=item, actor=officer)
    # … and a supervisor who was the officer cannot either (four eyes).
    item2 = submitted(andi, email="andi2@maju.co.id")
    services.request_approve(corporate_request=item2, actor=supervisor)
    with pytest.raises(exceptions.SupervisorMustDiffer):
        services.request_approve(corporate_request=item2, actor=supervisor)
    # Another supervisor approves: it all takes effect.
    run_on_commit(services.request_approve, corporate_request=item, actor=supervisor2)
    item.refresh_from_db()
    rudi.refresh_from_db()
    assert (item.status, item.supervisor) == ("approved", supervisor2)
    assert str(rudi.phone) == NEW_PHONE and rudi.confirmation_method == "sms"
    assert actions("corporate_request_supervised").get().actor == supervisor2
    assert actions("phone_changed").get(subject=rudi).actor == supervisor2
    # The old number told of the change; the new number told it may transact again.
    assert OutboxMessage.objects.filter(to=old_phone).exists()
    assert "bertransaksi kembali" in OutboxMessage.objects.get(to=NEW_PHONE).body


def test_the_database_refuses_one_person_as_officer_and_supervisor(rudi, supervisor):
    item = submitted(rudi, phone=NEW_PHONE)
    with pytest.raises(IntegrityError), transaction.atomic():
        CorporateRequest.objects.filter(pk=item.pk).update(
            officer=supervisor, supervisor=supervisor
        )


def test_the_database_refuses_a_change_approved_without_a_supervisor(rudi, officer):
    item = submitted(rudi, phone=NEW_PHONE)
    with pytest.raises(IntegrityError), transaction.atomic():
        CorporateRequest.objects.filter(pk=item.pk).update(status="approved", officer=officer)
    with pytest.raises(IntegrityError), transaction.atomic():
        CorporateRequest.objects.filter(pk=item.pk).update(status="awaiting_supervisor")


def test_the_database_refuses_a_change_without_a_signed_form(rudi):
    item = submitted(rudi)
    with pytest.raises(IntegrityError), transaction.atomic():
        CorporateRequest.objects.filter(pk=item.pk).update(new_phone=NEW_PHONE)


def test_a_number_taken_meanwhile_refuses_the_approval_and_changes_nothing(
    rudi, andi, officer, supervisor
):
    item = submitted(rudi, phone=NEW_PHONE)
    services.request_approve(corporate_request=item, actor=officer)
    User.objects.filter(pk=andi.pk).update(phone=NEW_PHONE)
    with pytest.raises(account_exceptions.PhoneInUse):
        services.request_approve(corporate_request=item, actor=supervisor)
    item.refresh_from_db()
    rudi.refresh_from_db()
    assert item.status == "awaiting_supervisor" and rudi.confirmation_method == "hardware_token"
    assert HardwareToken.objects.get(serial="CT10000002").state == "active"


# --- Permissions in the service -------------------------------------------------------------


@pytest.mark.parametrize("role", ["agent"])
def test_a_role_without_the_permission_cannot_process(rudi, role):
    agent = staff("staf-agen", role)[0]
    item = submitted(rudi)
    for call in (services.request_approve, services.request_reject, services.request_return):
        with pytest.raises(account_exceptions.NotPermitted):
            call(corporate_request=item, actor=agent, message="x")
    with pytest.raises(account_exceptions.NotPermitted):
        services.document_open(corporate_request=item, actor=agent)


def test_a_customer_cannot_process_their_own_request(rudi, andi):
    item = submitted(rudi)
    with pytest.raises(account_exceptions.StaffError):
        services.request_approve(corporate_request=item, actor=rudi)
    with pytest.raises(account_exceptions.StaffError):
        services.request_approve(corporate_request=item, actor=andi)


def test_the_officer_permission_is_what_lets_an_officer_approve(rudi, officer):
    from django.contrib.auth.models import Group, Permission

    Group.objects.get(name="Branch officer").permissions.remove(
        Permission.objects.get(codename="process_corporaterequest")
    )
    officer = User.objects.get(pk=officer.pk)  # no cached permissions
    with pytest.raises(account_exceptions.NotPermitted):
        services.request_approve(corporate_request=submitted(rudi), actor=officer)


# --- In the admin -----------------------------------------------------------------------------


def test_admin_queue_page_document_and_decisions(rudi, run_on_commit):
    officer_pair, boss_pair = staff("staf-cabang", "branch"), staff("staf-kepala", "supervisor")
    item = submitted(rudi, phone=NEW_PHONE)
    client = staff_login(officer_pair)
    listing = client.get(ADMIN).content.decode()
    assert f"{ADMIN}{item.pk}/change/" in listing and item.reference in listing
    page = client.get(f"{ADMIN}{item.pk}/change/").content.decode()
    assert "CT10000002" in page and NEW_PHONE in page and "formulir.pdf" in page
    # The signed form: an attachment, never sniffed, audited.
    response = client.get(f"{ADMIN}{item.pk}/document/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    viewed = actions("corporate_document_viewed").get()
    assert (viewed.actor, viewed.subject) == (officer_pair[0], rudi)
    # Officer approves; the request waits for a supervisor.
    response = client.post(f"{ADMIN}{item.pk}/approve/", {"message": ""})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == "awaiting_supervisor"
    # The officer sees no buttons now, and a POST is refused by the service.
    page = client.get(f"{ADMIN}{item.pk}/change/").content.decode()
    assert f"{ADMIN}{item.pk}/approve/" not in page
    response = client.post(f"{ADMIN}{item.pk}/approve/", {"message": ""})
    assert response.status_code == 200 and "errornote" in response.content.decode()
    # The supervisor approves.
    boss = staff_login(boss_pair)
    response = run_on_commit(boss.post, f"{ADMIN}{item.pk}/approve/", {"message": "KTP cocok"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == "approved" and item.supervisor == boss_pair[0]


def test_agents_see_no_requests_and_no_document(rudi):
    item = submitted(rudi, phone=NEW_PHONE)
    client = staff_login(staff("staf-agen", "agent"))
    assert client.get(ADMIN).status_code == 403
    assert client.get(f"{ADMIN}{item.pk}/document/").status_code == 403
    assert not actions("corporate_document_viewed").exists()


def test_the_document_is_not_served_outside_the_admin(rudi, client):
    item = submitted(rudi, phone=NEW_PHONE)
    response = client.get(f"{ADMIN}{item.pk}/document/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    customer = login(rudi)
    assert customer.get(f"{ADMIN}{item.pk}/document/").status_code == 302
    assert (
        item.document_path
        not in customer.get(f"/corporate/pengajuan/{item.reference}/").content.decode()
    )


def test_company_page_lists_requests_and_links_the_audit_trail(rudi, company):
    item = submitted(rudi)
    client = staff_login(staff("staf-kepala", "supervisor"))
    page = client.get(f"/admin/accounts/company/{company.pk}/change/").content.decode()
    assert item.reference in page and f"{ADMIN}{item.pk}/change/" in page
    audit_url = f"{ADMIN}company-audit/?company={company.pk}"
    assert audit_url in page
    trail = client.get(audit_url).content.decode()
    # Typed User ID with the company, never the stored "MAJUBERSAMA:rudi".
    assert "rudi (MAJUBERSAMA)" in trail and "MAJUBERSAMA:rudi" not in trail
    # The branch officer may not read the audit log.
    officer = staff_login(staff("staf-cabang", "branch"))
    assert officer.get(audit_url).status_code == 403


def test_no_secret_or_full_number_in_the_audit(rudi, officer, supervisor):
    item = submitted(rudi, phone=NEW_PHONE)
    services.request_approve(corporate_request=item, actor=officer)
    services.request_approve(corporate_request=item, actor=supervisor)
    for event in AuditEvent.objects.all():
        assert NEW_PHONE not in str(event.data) and NEW_PHONE[3:] not in str(event.data)
    assert EmailMessage.objects.filter(user=rudi).exists()


def test_the_approval_sms_is_one_segment_at_its_longest():
    """A notice of one SMS (GSM-7, at most 160 characters) in Indonesian and English, with
    the longest reference and masked phone it can carry."""
    from django.utils import translation

    from portal.formatting import phone_masked

    for language in ("id", "en"):
        with translation.override(language):
            text = translation.gettext(services.APPROVED_TOKEN_TEXT) % {
                "reference": "PGJ-999999",
                "phone": phone_masked("+6281377778888"),
            }
        assert len(text) <= 160, (language, len(text), text)
