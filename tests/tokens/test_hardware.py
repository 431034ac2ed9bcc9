"""Hardware tokens: RFC vectors through the portal's own check, PSKC stock import, sealed seeds."""

import base64
import json
import threading
from pathlib import Path

import pskc
import pyotp
import pytest
import time_machine
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from tests.conftest import needs_postgres
from tokens import hardware
from tokens.models import HardwareToken

# Inside the repository (tests/data/README.md says where each file came from), so a fresh
# clone needs nothing beside it.
TESTDATA = Path(__file__).resolve().parents[1] / "data"
PSKC_DIR = TESTDATA / "pskc"
VECTORS = json.loads((TESTDATA / "vectors.json").read_text())
SECRET = VECTORS["secret_ascii"].encode()
STOCK = (HardwareToken.State.IN_STOCK,)

pytestmark = pytest.mark.django_db


def make_token(algorithm="hotp", digits=6, step=None, state="active", user=None, **fields):
    return HardwareToken.objects.create(
        serial=fields.pop("serial", "T0001"),
        algorithm=algorithm,
        digits=digits,
        step=step,
        state=state,
        user=user,
        sealed_seed=hardware.seed_seal(SECRET),
        **fields,
    )


def test_rfc4226_appendix_d_in_order_and_once(customer):
    token = make_token(user=customer)
    for counter, code in sorted(VECTORS["rfc4226_hotp_6_digits"].items(), key=lambda i: int(i[0])):
        assert hardware.token_code_verify(token=token, code=code), counter
        assert not hardware.token_code_verify(token=token, code=code), f"replay of {counter}"
    assert HardwareToken.objects.get(pk=token.pk).counter == 10


def test_hotp_look_ahead_window_is_ten(customer):
    codes = VECTORS["rfc4226_hotp_6_digits"]
    token = make_token(user=customer)
    assert hardware.token_code_verify(token=token, code=codes["9"])  # 9 presses ahead: accepted
    assert not hardware.token_code_verify(token=token, code=codes["5"])  # behind: refused
    far = make_token(user=customer, serial="T0002", counter=0)
    code_10 = str(pyotp.HOTP(base64.b32encode(SECRET)).at(10)).zfill(6)
    assert not hardware.token_code_verify(token=far, code=code_10)  # 10 ahead: outside


@pytest.mark.parametrize("moment, code", sorted(VECTORS["rfc6238_totp_sha1_8_digits_step_30"].items()))
def test_rfc6238_appendix_b(customer, moment, code):
    token = make_token(algorithm="totp", digits=8, step=30, user=customer)
    with time_machine.travel(int(moment), tick=False):
        assert hardware.token_code_verify(token=token, code=code)
        assert not hardware.token_code_verify(token=token, code=code)  # the same step: once


def test_totp_tolerates_one_step_and_learns_drift(customer):
    token = make_token(algorithm="totp", digits=6, step=60, user=customer)
    totp = pyotp.TOTP(base64.b32encode(SECRET).decode(), interval=60)
    start = 1_800_000_000
    with time_machine.travel(start, tick=False):
        assert hardware.token_code_verify(token=token, code=totp.at(start + 60))  # clock 1 ahead
    assert HardwareToken.objects.get(pk=token.pk).drift == 1
    later = start + 600
    with time_machine.travel(later, tick=False):
        # Two steps ahead of the server now, one step off the learnt drift: accepted.
        assert hardware.token_code_verify(token=token, code=totp.at(later + 120))
        assert not hardware.token_code_verify(token=token, code=totp.at(later + 300))
    assert HardwareToken.objects.get(pk=token.pk).drift == 2


def test_only_active_tokens_confirm(customer):
    codes = VECTORS["rfc4226_hotp_6_digits"]
    for state in ("assigned", "lost", "damaged", "battery_dead", "revoked"):
        token = make_token(user=customer, serial=f"S-{state}", state=state)
        assert not hardware.token_code_verify(token=token, code=codes["0"]), state


def test_resync_from_two_consecutive_codes(customer):
    token = make_token(user=customer)
    hotp = pyotp.HOTP(base64.b32encode(SECRET))
    assert not hardware.token_code_verify(token=token, code=hotp.at(500))  # far ahead
    assert not hardware.token_resync(token=token, first=hotp.at(500), second=hotp.at(502))
    assert hardware.token_resync(token=token, first=hotp.at(500), second=hotp.at(501))
    assert hardware.token_code_verify(token=token, code=hotp.at(502))


def test_totp_resync_never_moves_the_last_step_back(customer):
    """Two codes at or before the last accepted step are refused for a resync: accepting them
    would make a step the portal already passed (and an older code someone watched) good
    again, or let two old codes shift the drift."""
    token = make_token(algorithm="totp", digits=6, step=30, user=customer)
    totp = pyotp.TOTP(base64.b32encode(SECRET).decode(), interval=30)
    moment = 1_800_000_000
    step_n = moment // 30
    with time_machine.travel(moment, tick=False):
        assert hardware.token_code_verify(token=token, code=totp.at(moment))  # step N
        assert HardwareToken.objects.get(pk=token.pk).last_t == step_n
        # Steps N-5 and N-4: inside the resync window, but already passed.
        assert not hardware.token_resync(
            token=token, first=totp.at(moment - 150), second=totp.at(moment - 120)
        )
        assert HardwareToken.objects.get(pk=token.pk).drift == 0
        for back in (3, 2, 1, 0):  # steps N-3 .. N: at or before the last accepted step
            assert not hardware.token_code_verify(token=token, code=totp.at(moment - 30 * back)), back
    assert HardwareToken.objects.get(pk=token.pk).last_t == step_n
    # The server at N+5, the token 4 behind shows N+1 and N+2: new codes, the drift is learnt.
    later = moment + 5 * 30
    with time_machine.travel(later, tick=False):
        assert hardware.token_resync(token=token, first=totp.at(moment + 30), second=totp.at(moment + 60))
        assert HardwareToken.objects.get(pk=token.pk).last_t == step_n + 2
        assert HardwareToken.objects.get(pk=token.pk).drift == -3
        assert hardware.token_code_verify(token=token, code=totp.at(moment + 90))
    assert HardwareToken.objects.get(pk=token.pk).last_t == step_n + 3


def test_hotp_resync_never_moves_the_counter_back(customer):
    token = make_token(user=customer)
    hotp = pyotp.HOTP(base64.b32encode(SECRET))
    assert hardware.token_code_verify(token=token, code=hotp.at(5))
    assert HardwareToken.objects.get(pk=token.pk).counter == 6
    # Two codes the portal already passed: not found, the counter stays.
    assert not hardware.token_resync(token=token, first=hotp.at(3), second=hotp.at(4))
    assert HardwareToken.objects.get(pk=token.pk).counter == 6
    assert hardware.token_resync(token=token, first=hotp.at(40), second=hotp.at(41))
    assert HardwareToken.objects.get(pk=token.pk).counter == 42
    assert not hardware.token_resync(token=token, first=hotp.at(20), second=hotp.at(21))
    assert HardwareToken.objects.get(pk=token.pk).counter == 42
    assert not hardware.token_code_verify(token=token, code=hotp.at(41))  # used by the resync
    assert not hardware.token_code_verify(token=token, code=hotp.at(21))


def test_seeds_are_sealed_and_keys_rotate(customer, settings):
    token = make_token(user=customer)
    assert SECRET not in token.sealed_seed.encode()
    assert VECTORS["secret_hex"] not in token.sealed_seed
    old_key = settings.TOKEN_SEED_KEYS[0]
    settings.TOKEN_SEED_KEYS = [Fernet.generate_key().decode(), old_key]
    assert hardware.seed_unseal(token.sealed_seed) == SECRET  # the old key still opens it
    settings.TOKEN_SEED_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(Exception):  # noqa: B017 - any failure: a foreign key must not open it
        hardware.seed_unseal(token.sealed_seed)


def independent_code(path, serial, password=None, psk=None, counter=0):
    """A code computed outside the portal: python-pskc reads the file, pyotp computes."""
    document = pskc.PSKC(str(path))
    if psk:
        document.encryption.key = bytes.fromhex(psk)
    if password:
        document.encryption.derive_key(password)
    key = next(k for k in document.keys if (k.serial or "").upper() == serial)
    b32 = base64.b32encode(key.secret).decode()
    if key.algorithm.endswith("totp"):
        return pyotp.TOTP(b32, digits=key.response_length, interval=key.time_interval or 30).now()
    return pyotp.HOTP(b32, digits=key.response_length).at(counter)


@pytest.mark.parametrize(
    "name, options, serials",
    [
        ("rfc6030-figure3.pskcxml", {}, ["987654321"]),
        ("rfc6030-figure5.pskcxml", {}, ["987654321"]),
        ("rfc6030-figure6.pskcxml", {"psk": "12345678901234567890123456789012"}, ["987654321"]),
        ("rfc6030-figure7.pskcxml", {"password": "qwerty"}, ["987654321"]),
        ("feitian-20120919-test001-4282.xml", {}, ["2600215704919", "1000117803294"]),
    ],
)
def test_pskc_files_import_and_their_codes_verify(name, options, serials):
    report = hardware.tokens_import(source=str(PSKC_DIR / name), batch=name, **options)
    assert sorted(report.imported) == sorted(serials)
    for serial in serials:
        token = HardwareToken.objects.get(serial=serial)
        assert token.state == HardwareToken.State.IN_STOCK and token.user is None
        code = independent_code(PSKC_DIR / name, serial, counter=token.counter, **options)
        assert hardware.token_code_verify(token=token, code=code, accept_states=STOCK)
        if token.algorithm == "totp":
            assert token.step == 60


def test_rfc6030_figure3_codes_are_rfc4226_with_eight_digits():
    hardware.tokens_import(source=str(PSKC_DIR / "rfc6030-figure3.pskcxml"), batch="f3")
    token = HardwareToken.objects.get()
    assert (token.algorithm, token.digits, token.counter) == ("hotp", 8, 0)
    assert hardware.token_code_verify(token=token, code="84755224", accept_states=STOCK)


def test_figure5_pin_key_is_named_as_skipped():
    report = hardware.tokens_import(source=str(PSKC_DIR / "rfc6030-figure5.pskcxml"), batch="f5")
    assert [problem.code for problem in report.skipped] == ["not_otp"]


@pytest.mark.parametrize(
    "name, options, code",
    [
        ("rfc6030-figure2.pskcxml", {}, "secret_too_short"),
        ("rfc6030-figure4.pskcxml", {}, "no_secret"),
        ("rfc6030-figure6.pskcxml", {}, "encrypted"),
        ("rfc6030-figure6.pskcxml", {"psk": "00" * 16}, "undecryptable"),
        ("rfc6030-figure6.pskcxml", {"psk": "not-hex"}, "bad_key"),
        ("rfc6030-figure7.pskcxml", {"password": "wrong"}, "undecryptable"),
    ],
)
def test_bad_files_are_refused_whole(name, options, code):
    with pytest.raises(hardware.ImportRefused) as refused:
        hardware.tokens_import(source=str(PSKC_DIR / name), batch=name, **options)
    assert [problem.code for problem in refused.value.report.problems] == [code]
    assert not HardwareToken.objects.exists()


def test_duplicate_serial_refuses_the_whole_file(tmp_path):
    hardware.tokens_import(source=str(PSKC_DIR / "rfc6030-figure3.pskcxml"), batch="first")
    with pytest.raises(hardware.ImportRefused) as refused:
        hardware.tokens_import(source=str(PSKC_DIR / "feitian-file1.pskcxml"), batch="ok")
        hardware.tokens_import(
            source=str(PSKC_DIR / "rfc6030-figure6.pskcxml"),
            batch="second",
            psk="12345678901234567890123456789012",
        )
    assert [(p.code, p.token) for p in refused.value.report.problems] == [("in_stock", "987654321")]
    assert HardwareToken.objects.filter(serial="987654321").count() == 1


def test_not_a_pskc_file(tmp_path):
    bad = tmp_path / "tokens.xml"
    bad.write_bytes(b"\x00not xml at all")
    with translation.override("en"), pytest.raises(hardware.ImportRefused) as refused:
        hardware.tokens_import(source=str(bad), batch="bad")
    assert "not a readable PSKC file" in str(refused.value)
    assert [problem.code for problem in refused.value.report.problems] == ["not_pskc"]


@translation.override("en")
def test_import_tokens_command(capsys):
    call_command("import_tokens", str(PSKC_DIR / "rfc6030-figure7.pskcxml"), password="qwerty")
    assert "1 tokens imported" in capsys.readouterr().out
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_tokens", str(PSKC_DIR / "rfc6030-figure2.pskcxml"))
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_tokens", "/nonexistent.pskcxml")


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_one_code_twice_in_parallel_confirms_once(customer):
    token = make_token(user=customer)
    code = VECTORS["rfc4226_hotp_6_digits"]["0"]
    barrier, results = threading.Barrier(2), []

    def submit():
        try:
            barrier.wait()
            results.append(hardware.token_code_verify(token=HardwareToken.objects.get(pk=token.pk), code=code))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, True]
