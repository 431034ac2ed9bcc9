"""Found by an outsider attack on the corporate requests (issue 11), each reproduced here
before its fix:

1. A correction could change the phone or email and keep the signed form attached for the
   earlier values: with the password alone, someone could have a user's OTPs sent to their
   own phone, with staff approving a form that does not match.
2. An old token-replacement request approved after the user activated a new token switched
   them back to SMS OTP.
3. A request whose user left the company was still approved (and its staff page failed).
4. The user was not told when a request was filed, so the real owner had no warning while a
   takeover request waited.
"""

import pytest

from accounts.models import User
from corporate import exceptions, services
from corporate.models import CorporateRequest
from tests.corporate.conftest import NEW_PHONE, form_data, staff_login, upload
from tests.tokens.conftest import token_make
from tokens.models import SmsMessage

pytestmark = pytest.mark.django_db


def returned_with_a_new_phone(rudi, officer, supervisor):
    item = services.request_submit(
        user=rudi,
        kind="token_replacement",
        data=form_data(rudi, phone=NEW_PHONE),
        document=upload(),
    )
    services.request_approve(corporate_request=item, actor=officer)
    services.request_return(
        corporate_request=item, actor=supervisor, message="Tanda tangan kurang jelas"
    )
    item.refresh_from_db()
    return item


def test_a_correction_with_another_phone_needs_a_new_signed_form(rudi, officer, supervisor):
    item = returned_with_a_new_phone(rudi, officer, supervisor)
    with pytest.raises(exceptions.RequestRefused) as refused:
        services.request_resubmit(
            corporate_request=item,
            user=rudi,
            data=form_data(rudi, phone="+6281355556666", reason="lost"),
        )
    assert [e.code for e in refused.value.errors] == ["document_required"]
    item.refresh_from_db()
    assert item.status == "needs_correction" and str(item.new_phone) == NEW_PHONE


def test_a_correction_with_another_email_needs_a_new_signed_form(rudi, officer, supervisor):
    item = returned_with_a_new_phone(rudi, officer, supervisor)
    with pytest.raises(exceptions.RequestRefused):
        services.request_resubmit(
            corporate_request=item,
            user=rudi,
            data=form_data(rudi, phone=NEW_PHONE, email="attacker@evil.example"),
        )


def test_a_correction_keeping_the_same_new_phone_keeps_the_signed_form(rudi, officer, supervisor):
    item = returned_with_a_new_phone(rudi, officer, supervisor)
    document = item.document_path
    services.request_resubmit(
        corporate_request=item, user=rudi, data=form_data(rudi, phone=NEW_PHONE, reason="lost")
    )
    item.refresh_from_db()
    assert item.status == "submitted" and item.document_path == document


def test_a_correction_keeping_the_new_email_in_other_capitals_keeps_the_form(
    rudi, officer, supervisor
):
    item = services.request_submit(
        user=rudi,
        kind="token_replacement",
        data=form_data(rudi, email="rudi.baru@majubersama.co.id"),
        document=upload(),
    )
    services.request_approve(corporate_request=item, actor=officer)
    services.request_return(corporate_request=item, actor=supervisor, message="Tanda tangan")
    item.refresh_from_db()
    services.request_resubmit(
        corporate_request=item, user=rudi, data=form_data(rudi, email="Rudi.Baru@MAJUBERSAMA.co.id")
    )
    assert CorporateRequest.objects.get(pk=item.pk).status == "submitted"


def test_approving_an_old_replacement_never_undoes_a_newly_activated_token(rudi, officer):
    item = services.request_submit(user=rudi, kind="token_replacement", data=form_data(rudi))
    # Meanwhile the branch handed rudi a new token and he activated it.
    token_make("CT10000099", state="active", user=rudi)
    with pytest.raises(exceptions.ApprovalRefused):
        services.request_approve(corporate_request=item, actor=officer)
    rudi.refresh_from_db()
    assert rudi.confirmation_method == User.ConfirmationMethod.HARDWARE_TOKEN
    assert CorporateRequest.objects.get(pk=item.pk).status == "submitted"


def test_a_request_of_a_user_who_left_the_company_is_not_approved(rudi, officer):
    item = services.request_submit(user=rudi, kind="token_replacement", data=form_data(rudi))
    User.objects.filter(pk=rudi.pk).update(company=None)
    page = staff_login(_staff_pair(officer)).get(
        f"/admin/corporate/corporaterequest/{item.pk}/change/"
    )
    assert page.status_code == 200
    with pytest.raises(exceptions.ApprovalRefused):
        services.request_approve(corporate_request=item, actor=officer)
    rudi.refresh_from_db()
    assert rudi.confirmation_method == User.ConfirmationMethod.HARDWARE_TOKEN


def test_the_user_is_told_when_a_request_is_filed(rudi, run_on_commit):
    item = run_on_commit(
        services.request_submit,
        user=rudi,
        kind="token_replacement",
        data=form_data(rudi, phone=NEW_PHONE),
        document=upload(),
    )
    told = SmsMessage.objects.filter(user=rudi, notice__text=services.SUBMITTED_TEXT)
    # To the registered phone (the real owner's), not the new one typed in the request.
    assert told.count() == 1 and told.get().to == str(rudi.phone)
    assert told.get().notice["params"]["reference"] == item.reference


def _staff_pair(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return user, TOTPDevice.objects.get(user=user)


def test_the_signed_form_downloads_under_the_reference_and_its_real_type(rudi):
    """5. The download kept the name and extension the customer typed ("evil.html", "…exe"):
    a staff member's browser saved a file that, opened, runs what it holds."""
    from tests.corporate.conftest import PNG, staff

    item = services.request_submit(
        user=rudi,
        kind="token_replacement",
        data=form_data(rudi, phone=NEW_PHONE),
        document=upload(PNG, name='../../"><img src=x onerror=alert(1)>evil.html'),
    )
    client = staff_login(staff("staf-cabang", "branch"))
    for view in ("document", "document/view"):
        response = client.get(f"/admin/corporate/corporaterequest/{item.pk}/{view}/")
        assert response.status_code == 200
        assert f'filename="{item.reference}.png"' in response["Content-Disposition"]
        assert "evil" not in response["Content-Disposition"]
