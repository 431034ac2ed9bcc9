"""PSKC import of odd and hostile vendor files (issue 9, item 15): every bad token is named with
what is wrong with it, the file is refused whole, and nothing ends in a traceback or an HTTP 500
(service, ``manage.py import_tokens``, admin upload in tests/tokens/test_token_admin.py)."""

import base64
import hashlib
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pyotp
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokens import hardware
from tokens.models import HardwareToken

pytestmark = pytest.mark.django_db

PSKC_DIR = Path(__file__).resolve().parents[1] / "data" / "pskc"
BAD_VALUES = PSKC_DIR / "bad-values.pskcxml"
PSKC_NS = "urn:ietf:params:xml:ns:keyprov:pskc"
SECRET_B32 = base64.b32encode(b"12345678901234567890").decode()
STOCK = (HardwareToken.State.IN_STOCK,)

# The bad tokens of bad-values.pskcxml: serial -> (problem code, English words of its line).
BAD_TOKENS = {
    "BADB64001": ("not_base64", "its secret is not valid base64"),
    "BIGCOUNT01": ("counter_out_of_range", "its counter 18446744073709551616 is out of range"),
    "NEGCOUNT01": ("counter_out_of_range", "its counter -5 is out of range"),
    "LONGSERIAL0123456789ABCDEFGHIJKLMNOPQRSTUV": (
        "serial_too_long", "its serial has 42 characters, more than 32"
    ),
    "TWELVE0001": ("not_integer", 'its counter "TWELVE" is not a whole number'),
    "NOTBOOL001": ("not_boolean", '"not really" where true or false belongs'),
    "ENCCOUNT01": ("encrypted", "its counter is encrypted"),
}


def refused(source, **options):
    """Import ``source``, expecting a refusal; its problems, read in English."""
    with translation.override("en"), pytest.raises(hardware.ImportRefused) as refusal:
        hardware.tokens_import(source=str(source), batch="test", **options)
    assert not HardwareToken.objects.exists()
    return [(problem.token, problem.code, str(problem)) for problem in refusal.value.report.problems]


def bad_values_with(tmp_path, serials) -> Path:
    """bad-values.pskcxml cut down to the key packages of ``serials``."""
    ET.register_namespace("", PSKC_NS)
    ET.register_namespace("xenc", "http://www.w3.org/2001/04/xmlenc#")
    tree = ET.parse(BAD_VALUES)
    root = tree.getroot()
    for package in root.findall(f"{{{PSKC_NS}}}KeyPackage"):
        if package.findtext(f"{{{PSKC_NS}}}DeviceInfo/{{{PSKC_NS}}}SerialNo").strip() not in serials:
            root.remove(package)
    path = tmp_path / "cut.pskcxml"
    tree.write(path, xml_declaration=True, encoding="UTF-8")
    return path


@pytest.mark.parametrize("serial", sorted(BAD_TOKENS))
def test_one_bad_token_is_named_with_its_problem(tmp_path, serial):
    code, words = BAD_TOKENS[serial]
    [(token, problem_code, line)] = refused(bad_values_with(tmp_path, {"GOOD0001", serial}))
    assert (token, problem_code) == (serial, code)
    assert line.startswith(f"token {serial}: ") and words in line, line


def test_every_bad_token_of_a_file_is_named_and_the_good_one_waits():
    problems = refused(BAD_VALUES)
    assert {(token, code) for token, code, _ in problems} == {
        (serial, code) for serial, (code, _) in BAD_TOKENS.items()
    }
    assert "GOOD0001" not in " ".join(line for _, _, line in problems)


def test_the_command_names_each_bad_token_without_a_traceback():
    err = io.StringIO()
    with translation.override("en"), pytest.raises(CommandError, match="nothing imported"):
        call_command("import_tokens", str(BAD_VALUES), stderr=err)
    output = err.getvalue()
    for serial, (_, words) in BAD_TOKENS.items():
        assert f"token {serial}: " in output and words in output, serial
    # The command, and only the command, names its own options.
    assert "--password" in output and "--psk" in output
    assert not HardwareToken.objects.exists()


def test_a_malformed_integer_outside_any_token_refuses_the_file():
    [(token, code, line)] = refused(
        PSKC_DIR / "pbkdf2-iterations-not-a-number.pskcxml", password="qwerty"
    )
    assert (token, code) == ("", "not_integer")
    assert line.startswith("file: ") and '"TWELVE" where a whole number belongs' in line


@pytest.mark.parametrize(
    "serial, algorithm",
    [
        ("DRAFTH0001", "hotp"),  # urn:ietf:params:xml:ns:keyprov:pskc#hotp
        ("DRAFTH0002", "hotp"),  # http://www.ietf.org/keyprov/pskc#hotp
        ("DRAFTH0003", "hotp"),  # HOTP
        ("DRAFTT0001", "totp"),  # urn:ietf:params:xml:ns:keyprov:pskc#totp
        ("DRAFTT0002", "totp"),  # http://www.ietf.org/keyprov/pskc#totp
        ("DRAFTT0003", "totp"),  # TOTP
    ],
)
def test_draft_algorithm_identifiers_import_and_their_codes_verify(serial, algorithm):
    report = hardware.tokens_import(source=str(PSKC_DIR / "draft-algorithm-uris.pskcxml"), batch="d")
    assert len(report.imported) == 6 and not report.skipped
    token = HardwareToken.objects.get(serial=serial)
    assert token.algorithm == algorithm
    if algorithm == "hotp":
        assert hardware.token_code_verify(token=token, code="755224", accept_states=STOCK)  # RFC 4226
    else:
        assert token.step == 30
        with time_machine.travel(1_800_000_000, tick=False):
            code = pyotp.TOTP(SECRET_B32, interval=30).now()
            assert hardware.token_code_verify(token=token, code=code, accept_states=STOCK)


@pytest.mark.parametrize("options", [{}, {"psk": "12345678901234567890123456789012"}])
def test_rsa_encrypted_file_is_refused_and_says_rsa(options):
    [(token, code, line)] = refused(PSKC_DIR / "rfc6030-figure8.pskcxml", **options)
    assert (token, code) == ("", "asymmetric_encryption")
    assert "RSA" in line and "pre-shared key or a password" in line


def test_huge_pbkdf2_iteration_count_is_refused_before_deriving(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("PBKDF2 ran: the iteration count was not checked first")

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", never)
    [(token, code, line)] = refused(
        PSKC_DIR / "pbkdf2-huge-iterations.pskcxml", password="qwerty"
    )
    assert (token, code) == ("", "pbkdf2_iterations")
    assert "2000000000 PBKDF2 iterations" in line and "10000000" in line


def test_pbkdf2_iteration_cap_is_a_setting_read_at_import(settings):
    settings.TOKEN_PSKC_MAX_PBKDF2_ITERATIONS = 999
    [(_, code, _)] = refused(PSKC_DIR / "rfc6030-figure7.pskcxml", password="qwerty")
    assert code == "pbkdf2_iterations"
    settings.TOKEN_PSKC_MAX_PBKDF2_ITERATIONS = 1000
    report = hardware.tokens_import(
        source=str(PSKC_DIR / "rfc6030-figure7.pskcxml"), batch="f7", password="qwerty"
    )
    assert report.imported == ["987654321"]


def test_huge_pbkdf2_key_length_is_refused_before_deriving(tmp_path, monkeypatch):
    monkeypatch.setattr(hashlib, "pbkdf2_hmac", lambda *a, **k: pytest.fail("PBKDF2 ran"))
    text = (PSKC_DIR / "rfc6030-figure7.pskcxml").read_text()
    source = tmp_path / "long-key.pskcxml"
    source.write_text(text.replace("<KeyLength>16</KeyLength>", "<KeyLength>1000000000</KeyLength>"))
    [(token, code, _)] = refused(source, password="qwerty")
    assert (token, code) == ("", "pbkdf2_key_length")


@pytest.mark.parametrize("count", ["0", "-1", "-9223372036854775809"])
def test_pbkdf2_iteration_count_below_one_is_refused_in_words(tmp_path, count):
    text = (PSKC_DIR / "rfc6030-figure7.pskcxml").read_text()
    source = tmp_path / "iterations.pskcxml"
    source.write_text(text.replace("<IterationCount>1000</IterationCount>", f"<IterationCount>{count}</IterationCount>"))
    [(token, code, line)] = refused(source, password="qwerty")
    assert (token, code) == ("", "pbkdf2_iterations")
    assert f"({count}) is not a positive number" in line


def test_figure4_key_says_it_could_not_be_decrypted_with_the_given_key():
    # RFC 6030 figure 4 carries no secret, only the name of the vendor's master key.
    [(token, code, line)] = refused(
        PSKC_DIR / "rfc6030-figure4.pskcxml", psk="12345678901234567890123456789012"
    )
    assert (token, code) == ("987654321", "undecryptable")
    assert "could not be decrypted with the given pre-shared key" in line
    assert "MasterKeyLabel" in line
    [(token, code, line)] = refused(PSKC_DIR / "rfc6030-figure4.pskcxml")
    assert (token, code) == ("987654321", "no_secret")
    assert "no secret" in line and "MasterKeyLabel" in line


@pytest.mark.parametrize(
    "name, options, code, words",
    [
        ("rfc6030-figure6.pskcxml", {}, "encrypted",
         "its secret is encrypted: give the file's password or pre-shared key"),
        ("rfc6030-figure6.pskcxml", {"psk": "00" * 16}, "undecryptable",
         "its secret could not be decrypted with the given pre-shared key"),
        ("rfc6030-figure7.pskcxml", {"password": "wrong"}, "undecryptable",
         "its secret could not be decrypted with the given password"),
    ],
)
def test_decryption_problems_say_what_happened_without_option_names(name, options, code, words):
    [(token, problem_code, line)] = refused(PSKC_DIR / name, **options)
    assert (token, problem_code) == ("987654321", code)
    assert words in line, line
    assert "--" not in line


def test_an_empty_mac_key_is_a_key_that_cannot_decrypt(tmp_path):
    """Found by the hypothesis test below: python-pskc raised TypeError (an HTTP 500)."""
    text = (PSKC_DIR / "rfc6030-figure6.pskcxml").read_text()
    start = text.index("<xenc:CipherValue>", text.index("<MACKey>"))
    end = text.index("</xenc:CipherValue>", start)
    source = tmp_path / "empty-mac-key.pskcxml"
    source.write_text(text[:start] + "<xenc:CipherValue>" + text[end:])
    [(token, code, line)] = refused(source, psk="12345678901234567890123456789012")
    assert (token, code) == ("987654321", "undecryptable")

ODD_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from([
        "", "-1", "TWELVE", "not really", "1.5", "=", "AAAA", "9" * 40, "-9223372036854775809",
        "http://www.w3.org/2001/04/xmlenc#rsa_1_5", "http://www.w3.org/2001/04/xmlenc#kw-aes128",
        "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256", "hmac-sha999",
    ]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    name=st.sampled_from([
        "rfc6030-figure3.pskcxml", "rfc6030-figure5.pskcxml", "rfc6030-figure6.pskcxml",
        "rfc6030-figure7.pskcxml", "feitian-file1.pskcxml", "draft-algorithm-uris.pskcxml",
    ]),
    options=st.sampled_from([{}, {"password": "qwerty"}, {"psk": "12345678901234567890123456789012"}]),
    data=st.data(),
)
def test_any_odd_value_anywhere_is_imported_or_refused_never_raised(
    tmp_path_factory, name, options, data
):
    """Hostile files: up to three texts or attributes of a good file replaced by odd values."""
    tree = ET.parse(PSKC_DIR / name)
    elements = list(tree.getroot().iter())
    for _ in range(data.draw(st.integers(1, 3))):
        element = data.draw(st.sampled_from(elements))
        if element.attrib and data.draw(st.booleans()):
            element.set(data.draw(st.sampled_from(sorted(element.attrib))), data.draw(ODD_VALUES))
        else:
            element.text = data.draw(ODD_VALUES)
    path = tmp_path_factory.mktemp("odd") / name
    tree.write(path)
    try:
        hardware.tokens_import(source=str(path), batch="odd", **options)
    except hardware.ImportRefused as refusal:
        assert refusal.report.problems
    HardwareToken.objects.all().delete()
