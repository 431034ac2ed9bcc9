"""A user of company A never sees or acts on anything of company B's requests: every corporate
request URL, table-driven (a 404, as for an account of another company)."""

import pytest

from corporate import services
from corporate.models import CorporateRequest
from tests.corporate.conftest import form_data, login

pytestmark = pytest.mark.django_db

# Every URL of a request, named by the request, and whether it takes a POST (the detail page
# answers 405 to a POST for every request alike, so that tells nothing either).
REQUEST_URLS = [
    ("/corporate/pengajuan/{reference}/", False),
    ("/corporate/pengajuan/{reference}/perbaiki/", True),
]


@pytest.fixture
def requests_ab(rudi, bayu, officer):
    a = services.request_submit(user=rudi, kind="token_replacement", data=form_data(rudi))
    b = services.request_submit(user=bayu, kind="token_replacement", data=form_data(bayu))
    # Both waiting for correction, so that the correction page is open to their own users.
    for item in (a, b):
        services.request_return(corporate_request=item, actor=officer, message="Perbaiki")
    return {"A": a, "B": b}


@pytest.mark.parametrize("url, takes_post", REQUEST_URLS)
@pytest.mark.parametrize("who, own, foreign", [("rudi", "A", "B"), ("bayu", "B", "A")])
def test_another_companys_request_is_404(
    requests_ab, rudi, bayu, url, takes_post, who, own, foreign
):
    client = login({"rudi": rudi, "bayu": bayu}[who])
    assert client.get(url.format(reference=requests_ab[own].reference)).status_code == 200
    assert client.get(url.format(reference=requests_ab[foreign].reference)).status_code == 404
    response = client.post(url.format(reference=requests_ab[foreign].reference), form_data(rudi))
    assert response.status_code == (404 if takes_post else 405)
    assert CorporateRequest.objects.get(pk=requests_ab[foreign].pk).status == "needs_correction"


@pytest.mark.parametrize("who, own, foreign", [("rudi", "A", "B"), ("bayu", "B", "A")])
def test_the_status_list_shows_only_the_companys_requests(
    requests_ab, rudi, bayu, who, own, foreign
):
    page = login({"rudi": rudi, "bayu": bayu}[who]).get("/corporate/pengajuan/").content.decode()
    assert requests_ab[own].reference in page
    assert requests_ab[foreign].reference not in page


def test_a_colleague_sees_the_request_but_cannot_correct_it(requests_ab, andi):
    client = login(andi)
    item = requests_ab["A"]
    page = client.get(f"/corporate/pengajuan/{item.reference}/").content.decode()
    assert item.reference in page and "Perbaiki dan kirim ulang" not in page
    assert client.get(f"/corporate/pengajuan/{item.reference}/perbaiki/").status_code == 302


def test_the_service_refuses_a_correction_by_another_company(requests_ab, bayu):
    from corporate import exceptions

    with pytest.raises(exceptions.NotCorrectable):
        services.request_resubmit(
            corporate_request=requests_ab["A"], user=bayu, data=form_data(bayu)
        )


@pytest.mark.parametrize(
    "reference",
    ["1", "PGJ-", "PGJ-1", "PGJ-0000001", "PGJ-abc", "pgj-000001", "PGJ-1-2", "PGJ-٠٠٠٠٠١"],
)
def test_anything_but_a_reference_is_404(requests_ab, rudi, reference):
    client = login(rudi)
    assert client.get(f"/corporate/pengajuan/{reference}/").status_code == 404
