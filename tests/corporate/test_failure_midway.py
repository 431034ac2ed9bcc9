"""Nothing is lost or half-done if approval fails midway (issue 11, Tests).

Decision: the approval is all or nothing. The phone/email change, the old token's state, the
switch to SMS OTP, the request's status, the audit and the notices to the user are written in
one transaction; the notices are rows (SMS and email outboxes) handed to Celery only after
commit. So a failure while *writing* the notification rolls everything back (the request
stays waiting and staff can approve again), and a failure while *delivering* it after commit
leaves the approval in place with the failed delivery on record (the user is on SMS OTP either
way, never on a half-switched state)."""

import pytest

from accounts.models import AuditEvent
from corporate import services
from corporate.models import CorporateRequest
from tests.corporate.conftest import NEW_PHONE, form_data, upload
from tokens import services as otp_services
from tokens.models import HardwareToken, SmsMessage

pytestmark = pytest.mark.django_db


class NoticeDown(Exception):
    pass


def state_of(user, item):
    user.refresh_from_db()
    item.refresh_from_db()
    return {
        "status": item.status,
        "method": user.confirmation_method,
        "phone": str(user.phone),
        "token": HardwareToken.objects.get(serial=item.token_serial).state,
        "approved_at": item.approved_at,
        "supervisor": item.supervisor_id,
        "audit": sorted(AuditEvent.objects.filter(subject=user).values_list("action", flat=True)),
        "sms": SmsMessage.objects.filter(user=user).count(),
    }


@pytest.mark.parametrize("with_phone_change", [False, True])
def test_a_failing_notification_rolls_the_whole_approval_back(
    rudi, officer, supervisor, monkeypatch, with_phone_change
):
    changes = {"phone": NEW_PHONE} if with_phone_change else {}
    item = services.request_submit(
        user=rudi,
        kind="token_replacement",
        data=form_data(rudi, **changes),
        document=upload() if changes else None,
    )
    approver = officer
    if with_phone_change:
        services.request_approve(corporate_request=item, actor=officer)
        approver = supervisor
    before = state_of(rudi, item)
    calls = []
    real_notice_send = otp_services.notice_send

    def failing_notice_send(*, user, text, **kwargs):
        # The earlier notices of the approval (the old number told of the change) are written;
        # the last one, "you can transact again", fails.
        if text == services.APPROVED_TOKEN_TEXT:
            calls.append(text)
            raise NoticeDown
        return real_notice_send(user=user, text=text, **kwargs)

    monkeypatch.setattr(otp_services, "notice_send", failing_notice_send)
    with pytest.raises(NoticeDown):
        services.request_approve(corporate_request=item, actor=approver)
    assert calls == [services.APPROVED_TOKEN_TEXT]  # it failed at the very end …
    assert state_of(rudi, item) == before  # … and nothing of the approval stayed
    assert before["method"] == "hardware_token" and before["token"] == "active"

    # Once notices work again the same request is approved, completely.
    monkeypatch.setattr(otp_services, "notice_send", real_notice_send)
    services.request_approve(corporate_request=item, actor=approver)
    after = state_of(rudi, item)
    assert (after["status"], after["method"], after["token"]) == ("approved", "sms", "battery_dead")
    assert after["phone"] == (NEW_PHONE if with_phone_change else before["phone"])


class RefusingBackend:
    """An SMS provider that refuses every message for good (Twilio 21610: unsubscribed)."""

    def send(self, **kwargs):
        from tokens.sms import PermanentSmsError

        raise PermanentSmsError("21610")


def test_a_delivery_failing_after_commit_leaves_the_approval_in_place(
    rudi, officer, settings, run_on_commit, mailoutbox
):
    settings.SMS_BACKEND = f"{__name__}.RefusingBackend"
    item = services.request_submit(user=rudi, kind="token_replacement", data=form_data(rudi))
    run_on_commit(services.request_approve, corporate_request=item, actor=officer)
    after = state_of(rudi, item)
    assert (after["status"], after["method"], after["token"]) == ("approved", "sms", "battery_dead")
    notice = SmsMessage.objects.get(user=rudi, notice__text=services.APPROVED_TOKEN_TEXT)
    assert (notice.status, notice.error_code) == ("failed", "21610")  # on record for staff
    assert any(item.reference in m.body for m in mailoutbox)  # the email still went


def test_a_request_in_flight_is_not_approved_twice(rudi, officer):
    item = services.request_submit(user=rudi, kind="token_replacement", data=form_data(rudi))
    services.request_approve(corporate_request=item, actor=officer)
    stale = CorporateRequest.objects.get(pk=item.pk)
    stale.status = "submitted"  # a page opened before the approval
    from corporate import exceptions

    with pytest.raises(exceptions.RequestNotInStep):
        services.request_approve(corporate_request=stale, actor=officer)
    assert AuditEvent.objects.filter(action="corporate_request_approved").count() == 1
