"""Odd and hostile input on the corporate request form: every bad row comes back as the same
form with an error (HTTP 200, never a 500) and stores nothing; odd but valid rows go through."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corporate import exceptions, services
from corporate.models import CorporateRequest
from tests.corporate.conftest import PDF, form_data, login, upload

pytestmark = pytest.mark.django_db

URL = "/corporate/pengajuan/baru/token/"
SCRIPT = "<script>alert(1)</script>"

BAD = [
    ("NUL byte in the company name", {"company_name": "PT Maju\x00Bersama"}),
    ("huge company name", {"company_name": "A" * 100_000}),
    ("script as User ID", {"user_id": SCRIPT}),
    ("SQL in the CIF", {"cif": "1' OR '1'='1"}),
    ("Arabic-Indic digits as serial", {"token_serial": "١٠٠٠٠٠٠٢"}),
    ("serial of 40 characters", {"token_serial": "C" * 41}),
    ("phone with letters", {"phone": "0812-abc-defg"}),
    ("phone of another country that is no mobile", {"phone": "+12025550123"}),
    ("email without @", {"email": "rudi.majubersama.co.id"}),
    ("unknown reason", {"reason": "stolen"}),
    ("missing reason", {"reason": ""}),
    ("empty everything", {k: "" for k in ("company_name", "cif", "corporate_id", "user_id")}),
]


@pytest.mark.parametrize("case, changes", BAD, ids=[row[0] for row in BAD])
def test_bad_rows_are_refused_with_a_form_error(rudi, case, changes):
    client = login(rudi)
    response = client.post(URL, form_data(rudi, **changes))
    assert response.status_code == 200
    assert response.context["form"].errors
    assert SCRIPT not in response.content.decode()
    assert not CorporateRequest.objects.exists()


ODD_BUT_FINE = [
    ("serial with spaces and dashes", {"token_serial": " ct-1000 0002 "}),
    ("full-width serial", {"token_serial": "ＣＴ１００００００２"}),
    ("national phone with spaces", {"phone": "0812 0000 0002"}),
    ("company name in other case and spaces", {"company_name": " PT  MAJU bersama "}),
]


@pytest.mark.parametrize("case, changes", ODD_BUT_FINE, ids=[row[0] for row in ODD_BUT_FINE])
def test_odd_but_valid_rows_go_through(rudi, case, changes):
    response = login(rudi).post(URL, form_data(rudi, **changes))
    assert response.status_code == 302, response.context["form"].errors
    item = CorporateRequest.objects.get()
    assert item.token_serial == "CT10000002" and item.new_phone == ""


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(head=st.binary(max_size=64))
def test_any_bytes_are_a_document_or_a_clean_refusal(head):
    try:
        kind = services.document_check(upload(head + PDF[len(head) :] if head else b""))
    except exceptions.RequestError as error:
        assert error.code in {"document_empty", "document_wrong_type"}
    else:
        assert kind in services.DOCUMENT_TYPES
