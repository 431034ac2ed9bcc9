"""Every staff page of corporate requests reads in Indonesian (the staff's default), for each
role that opens it; and the audit log shows the new actions and reasons as sentences."""

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import AuditEvent
from corporate import services
from tests.accounts.test_admin_i18n import english_in
from tests.corporate.conftest import NEW_PHONE, form_data, staff, staff_login, upload

pytestmark = pytest.mark.django_db

DATA = (
    "PT Maju Bersama",
    "MAJUBERSAMA",
    "rudi",
    "andi",
    "formulir.pdf",
    "majubersama.co.id",
    "CT10000002",
    "application/pdf",
    "Perbaiki",
    "staf-",
)


@pytest.fixture
def world(rudi, andi, company):
    officer = staff("staf-cabang1", "branch")[0]
    waiting = services.request_submit(
        user=rudi,
        kind="token_replacement",
        data=form_data(rudi, phone=NEW_PHONE),
        document=upload(),
    )
    services.request_approve(corporate_request=waiting, actor=officer)
    submitted = services.request_submit(
        user=andi,
        kind="contact_change",
        data=form_data(andi, email="andi.baru@majubersama.co.id"),
        document=upload(),
    )
    services.request_return(corporate_request=submitted, actor=officer, message="Perbaiki")
    return {"company": company, "requests": [waiting, submitted]}


@pytest.mark.parametrize("role", ["agent", "branch", "supervisor"])
def test_every_corporate_staff_page_is_indonesian(world, role):
    client = staff_login(staff(f"staf-{role}", role))
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    urls = [
        reverse("admin:corporate_corporaterequest_changelist"),
        reverse("admin:corporate_corporaterequest_changelist") + "?queue=all",
        *(
            reverse("admin:corporate_corporaterequest_change", args=[r.pk])
            for r in world["requests"]
        ),
        reverse("admin:accounts_company_change", args=[world["company"].pk]),
        reverse("admin:corporate_corporaterequest_company_audit")
        + f"?company={world['company'].pk}",
        reverse("admin:accounts_auditevent_changelist"),
    ]
    english, opened = {}, 0
    for url in urls:
        response = client.get(url)
        if response.status_code == 403:
            continue
        assert response.status_code == 200, url
        opened += 1
        found = english_in(response.content.decode(), data=DATA)
        if found:
            english[url] = found
    assert english == {}
    assert opened >= 1


def test_audit_events_of_requests_read_as_sentences(world):
    client = staff_login(staff("staf-kepala9", "supervisor"))
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    event = AuditEvent.objects.filter(action="corporate_request_approved").first()
    page = client.get(reverse("admin:accounts_auditevent_change", args=[event.pk])).content.decode()
    assert "Pengajuan corporate disetujui" in page
    assert "Ponsel baru" in page and "Penggantian Hard Token ke SMS OTP" in page
