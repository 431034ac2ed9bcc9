"""A token's serial, however a vendor file or a person writes it (issue 9, item 16).

Vendors print serials with dashes and spaces ("12-3456-7890"); customers type them that way and
in lower case. One function, ``hardware.serial_normalise``, turns every written form into the
stored one, at import, activation and the admin's search, and migration tokens/0010 brought
the serials already stored into that form.
"""

from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation

from tests.tokens.conftest import HOTP, token_make
from tokens import hardware
from tokens.forms import TokenActivationForm
from tokens.models import HardwareToken

pytestmark = pytest.mark.django_db
PSKC_DIR = Path(__file__).resolve().parents[1] / "data" / "pskc"
AS_PRINTED = PSKC_DIR / "serials-as-printed.pskcxml"
BIRTH = "17/08/1988"  # tests.factories.UserFactory
LIST = "/admin/tokens/hardwaretoken/"


@pytest.mark.parametrize(
    "written, stored",
    [
        ("12-3456-7890", "1234567890"),
        (" ab 1234 cd ", "AB1234CD"),
        ("ft\u00a01000\u20110001", "FT10000001"),  # no-break space, non-breaking hyphen
        ("FT\u20131000\u20140001", "FT10000001"),  # en dash, em dash
        ("ＦＴ１０００－０００１", "FT10000001"),  # full-width, as some phone keyboards type
        ("FT10000001", "FT10000001"),
    ],
)
def test_serial_normalise(written, stored):
    assert hardware.serial_normalise(written) == stored


def test_import_stores_the_serial_as_activation_will_look_for_it():
    report = hardware.tokens_import(source=str(AS_PRINTED), batch="printed")
    assert sorted(report.imported) == ["1234567890", "AB1234CD"]
    assert set(HardwareToken.objects.values_list("serial", flat=True)) == {"1234567890", "AB1234CD"}


def test_a_token_imported_with_dashes_can_be_activated(customer, staff_client):
    _, officer = staff_client("branch")
    customer.refresh_from_db()  # the factory left birth_date a string
    hardware.tokens_import(source=str(AS_PRINTED), batch="printed")
    token = HardwareToken.objects.get(serial="1234567890")
    hardware.token_assign(token=token, user=customer, actor=officer, reason="branch", ip=None)
    form = TokenActivationForm({"birth_date": BIRTH, "serial": "12-3456-7890", "code": HOTP.at(0)})
    assert form.is_valid(), form.errors
    activated = hardware.token_activate(
        user=customer, birth_date=form.cleaned_data["birth_date"],
        serial=form.cleaned_data["serial"], code=form.cleaned_data["code"], ip=None,
    )
    assert activated.pk == token.pk
    assert HardwareToken.objects.get(pk=token.pk).state == HardwareToken.State.ACTIVE


@pytest.mark.parametrize("typed", ["ft10-000 001", "FT\u20131000\u20140001", "ＦＴ１０００－０００１"])
def test_activation_form_uses_the_same_function(typed):
    form = TokenActivationForm({"birth_date": BIRTH, "serial": typed, "code": "123456"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["serial"] == hardware.serial_normalise(typed) == "FT10000001"


def test_one_serial_twice_in_a_file_however_written(tmp_path):
    text = AS_PRINTED.read_text().replace("ab 1234 cd", "1234567890")
    source = tmp_path / "twice.pskcxml"
    source.write_text(text)
    with pytest.raises(hardware.ImportRefused) as refused:
        hardware.tokens_import(source=str(source), batch="twice")
    assert [(p.code, p.token) for p in refused.value.report.problems] == [("duplicate", "1234567890")]


def test_a_serial_already_in_stock_however_written():
    token_make("AB1234CD")
    with pytest.raises(hardware.ImportRefused) as refused:
        hardware.tokens_import(source=str(AS_PRINTED), batch="again")
    assert [(p.code, p.token) for p in refused.value.report.problems] == [("in_stock", "AB1234CD")]
    assert HardwareToken.objects.count() == 1


def test_a_serial_no_customer_can_type_is_refused_at_import(tmp_path):
    text = AS_PRINTED.read_text().replace("ab 1234 cd", "AB/1234.CD")
    source = tmp_path / "slash.pskcxml"
    source.write_text(text)
    with translation.override("en"), pytest.raises(hardware.ImportRefused) as refused:
        hardware.tokens_import(source=str(source), batch="slash")
    [problem] = refused.value.report.problems
    assert (problem.code, problem.token) == ("serial_invalid", "AB/1234.CD")
    assert "letters and digits" in problem


@pytest.mark.parametrize("search", ["12-3456-7890", "12 3456 7890", "3456-78", "1234567890"])
def test_admin_search_finds_a_serial_however_typed(staff_client, search):
    client, _ = staff_client("branch")
    token_make("1234567890")
    token_make("FT99999999")
    html = client.get(LIST, {"q": search}).content.decode()
    assert "1234567890" in html and "FT99999999" not in html


BEFORE = [("tokens", "0009_smsdevice_one_per_user")]
AFTER = [("tokens", "0010_hardwaretoken_serial_normalise")]


def _stock_before_0010(serials):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("tokens", "HardwareToken")
    for serial in serials:
        old.objects.create(serial=serial, algorithm="hotp", digits=6, sealed_seed="x")


def _migrate_to_latest():
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes("tokens"))


@pytest.mark.django_db(transaction=True)
def test_migration_0010_normalises_stored_serials():
    try:
        _stock_before_0010(["12-3456-7890", "ab 1234 cd", "FT10000001"])
    finally:
        _migrate_to_latest()
    assert sorted(HardwareToken.objects.values_list("serial", flat=True)) == [
        "1234567890", "AB1234CD", "FT10000001"
    ]


@pytest.mark.django_db(transaction=True)
def test_migration_0010_refuses_serials_that_would_collide():
    try:
        _stock_before_0010(["AB-1234", "ab 1234", "FT10000001"])
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        with pytest.raises(RuntimeError, match=r"AB1234: 'AB-1234', 'ab 1234'"):
            executor.migrate(AFTER)
        old = executor.loader.project_state(BEFORE).apps.get_model("tokens", "HardwareToken")
        # Nothing changed: staff decide which of the two is the real token.
        assert sorted(old.objects.values_list("serial", flat=True)) == [
            "AB-1234", "FT10000001", "ab 1234"
        ]
        old.objects.filter(serial="ab 1234").delete()
    finally:
        _migrate_to_latest()
    assert sorted(HardwareToken.objects.values_list("serial", flat=True)) == ["AB1234", "FT10000001"]
