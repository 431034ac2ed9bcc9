"""The Mobile Token's key and code scheme (issue 12, first slice): vectors computed here by an
independent implementation with plain ``hmac``/``hashlib`` (HKDF by RFC 5869's two steps), and
the published table of docs/mobile-token-design.md §1.2, which Chromium's WebCrypto matched."""

import hashlib
import hmac
import struct
from datetime import date
from uuid import UUID

import pytest

from tokens import mobile

SEED = bytes(range(32))
DEVICE = UUID("00112233-4455-6677-8899-aabbccddeeff")
T = 56666666


def reference_key(seed: bytes, device: UUID, unlock: str) -> bytes:
    prk = hmac.new(device.bytes, seed, hashlib.sha256).digest()  # HKDF-Extract
    info = b"BN-MobileToken-v1\x00" + unlock.encode()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()  # HKDF-Expand, one block


def reference_code(key: bytes, t: int, link: str) -> str:
    mode = 2 if link else 1
    message = b"BNMT" + bytes([1, mode]) + struct.pack(">Q", t) + bytes([len(link)]) + link.encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    offset = digest[31] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


@pytest.mark.parametrize("unlock", ["482915", "482916", "000001", "999999"])
@pytest.mark.parametrize("t", [0, 1, T, T + 1, 2**40])
@pytest.mark.parametrize("link", ["", "12345678", "12345679", "00000017"])
def test_the_server_agrees_with_an_independent_implementation(unlock, t, link):
    key = mobile.unlock_key(SEED, DEVICE, unlock)
    assert key == reference_key(SEED, DEVICE, unlock)
    assert mobile.code_for(key, t, link) == reference_code(key, t, link)


@pytest.mark.parametrize(
    "unlock, key_hex, plain, linked, linked_next, other_link",
    [
        (
            "482915",
            "d705502a3323a506cdd6dada33f5c057332bb21dd7c8c2816ae7e95a8f2be265",
            "767426", "767251", "766909", "858714",
        ),
        (
            "482916",
            "5e42eece424438bcecba34b7a8b2673554edf77263f35edd36c4f62a5c8a3d18",
            "711228", "447977", "858652", "787870",
        ),
    ],
)  # fmt: skip
def test_the_published_vectors(unlock, key_hex, plain, linked, linked_next, other_link):
    key = mobile.unlock_key(SEED, DEVICE, unlock)
    assert key.hex() == key_hex
    assert mobile.code_for(key, T) == plain
    assert mobile.code_for(key, T, "12345678") == linked
    assert mobile.code_for(key, T + 1, "12345678") == linked_next
    assert mobile.code_for(key, T, "12345679") == other_link
    assert mobile.code_message(T, "12345678").hex() == (
        "424e4d540102000000000360aa2a083132333435363738"
    )


def test_a_wrong_unlock_code_makes_codes_the_right_key_refuses():
    right = mobile.unlock_key(SEED, DEVICE, "482915")
    wrong = mobile.unlock_key(SEED, DEVICE, "482916")
    assert right != wrong
    assert mobile.code_for(right, T, "12345678") != mobile.code_for(wrong, T, "12345678")


def test_a_code_for_one_destination_is_not_the_code_for_another():
    key = mobile.unlock_key(SEED, DEVICE, "482915")
    assert mobile.code_for(key, T, "12345678") != mobile.code_for(key, T, "12345679")
    assert mobile.code_for(key, T) != mobile.code_for(key, T, "12345678")


@pytest.mark.parametrize("unlock", ["48291", "4829155", "abcdef", "٤٨٢٩١٥", "48291 "])
def test_an_unlock_code_is_six_ascii_digits(unlock):
    with pytest.raises(ValueError):
        mobile.unlock_key(SEED, DEVICE, unlock)


@pytest.mark.parametrize("link", ["1234567", "123456789", "1234567a", "١٢٣٤٥٦٧٨"])
def test_a_link_is_eight_ascii_digits(link):
    with pytest.raises(ValueError):
        mobile.code_message(T, link)


def test_money_codes_are_made_over_the_destinations_last_eight_digits():
    assert mobile.link_for(purpose="transfer", summary={"destination": "1002000017"}) == (
        "02000017"
    )
    assert mobile.link_for(purpose="corporate_payment", summary={"destination": "17"}) == (
        "00000017"
    )
    assert mobile.link_for(purpose="add_payee", summary={"account": "1002000017"}) == ""


def test_trivial_unlock_codes():
    codes = mobile.trivial_unlock_codes(birth_date=date(1992, 3, 5), phone="+6281234565678")
    for trivial in [
        "000000",
        "999999",
        "123456",
        "654321",
        "890123",
        "121212",
        "123123",
        "111222",
        "050392",
        "030592",
        "920305",
        "199203",
        "031992",
        "050319",
        "031992",
        "565678",
    ]:
        assert trivial in codes, trivial
    for fine in ["482915", "730164", "258147"]:
        assert fine not in codes, fine
    assert 1000 < len(codes) < 1400
