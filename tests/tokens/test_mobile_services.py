"""Mobile Token registration and de-registration (issue 12, docs/mobile-token-design.md §2.3):
the services behind the pages, with K_u computed here from the seed the server gave, as the
phone does, and the Unlock Code itself never sent, stored or logged."""

import base64
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection, models
from django.utils import timezone, translation

from accounts import services as account_services
from accounts.models import AuditEvent, Company, EmailMessage, User
from tests.conftest import needs_postgres
from tests.factories import UserFactory
from tests.payments.test_concurrency import run_at_once
from tests.tokens.conftest import staff_make
from tests.tokens.test_sms_text import GSM7
from tokens import exceptions, hardware, mobile, services
from tokens.models import (
    Challenge,
    HardwareToken,
    MobileDevice,
    MobileRegistration,
    OutboxMessage,
    SmsMessage,
)

PIN = "482915"
OTHER_PIN = "730461"


def otp_confirmed_registration(user):
    """A registration whose OTP went by SMS and was typed (the path the register page takes)."""
    registration = mobile.registration_start(user=user)
    challenge = services.challenge_issue(
        user=user,
        purpose="mobile_registration",
        summary=mobile.registration_intent(registration),
        text="registering Mobile Token",
        text_params={},
        to=user.phone,
    )
    with services.challenge_verify(
        user=user,
        purpose="mobile_registration",
        summary=mobile.registration_intent(registration),
        code=services.code_generator.code(challenge),
        challenge=challenge,
        by_sms=True,
    ):
        mobile.registration_otp_confirmed(registration=registration)
    registration.refresh_from_db()
    return registration


def register(user, pin=PIN, label="Pixel 8", on_commit=None):
    """Register a Mobile Token for ``user`` with ``pin``: returns (device, K_u)."""
    registration = otp_confirmed_registration(user)
    device_id, seed = mobile.registration_seed_issue(registration=registration)
    key = mobile.unlock_key(seed, device_id, pin)
    device = mobile.registration_complete(
        registration=registration,
        unlock_key=key,
        user_agent="Mozilla/5.0 (Linux; Android 14)",
        ip="10.0.0.7",
        label=label,
    )
    return device, key


@pytest.mark.django_db
def test_registration_happy_path(customer, mailoutbox, django_capture_on_commit_callbacks):
    registration = otp_confirmed_registration(customer)
    assert registration.otp_confirmed_at is not None
    device_id, seed = mobile.registration_seed_issue(registration=registration)
    assert device_id == registration.device_id and len(seed) == 32
    key = mobile.unlock_key(seed, device_id, PIN)

    with django_capture_on_commit_callbacks(execute=True):
        device = mobile.registration_complete(
            registration=registration,
            unlock_key=key,
            user_agent="Mozilla/5.0 (Android 14)",
            ip="10.0.0.7",
            label="Pixel 8",
        )

    device.refresh_from_db()
    assert device.public_id == device_id and device.user == customer and device.confirmed
    assert device.name == "Pixel 8" and device.revoked_at is None and device.last_t == -1
    # K_u sealed, not plain: the portal's seal opens it to exactly the key the phone made.
    assert hardware.seed_unseal(device.sealed_key) == key
    assert key.hex() not in device.sealed_key
    registration.refresh_from_db()
    assert registration.sealed_seed == "" and registration.completed_at is not None
    customer.refresh_from_db()
    assert customer.confirmation_method == User.ConfirmationMethod.MOBILE_TOKEN
    changed = AuditEvent.objects.get(action="confirmation_method_changed", subject=customer)
    assert changed.data == {"from": "sms", "to": "mobile_token"}
    registered = AuditEvent.objects.get(action="mobile_token_registered", subject=customer)
    assert registered.data == {"device": str(device_id), "label": "Pixel 8", "replaced": []}
    assert registered.ip_address == "10.0.0.7"
    # The SMS notice (Indonesian, the customer's language) and the email.
    notice = OutboxMessage.objects.get(body__contains="Mobile Token")
    assert notice.body == (
        "Bank Nusantara: Mobile Token didaftarkan di Pixel 8. Bukan Anda? Hubungi 1500 123."
    )
    assert len(mailoutbox) == 1 and "Pixel 8" in mailoutbox[0].body
    # Confirmations now go to the device; no SMS is sent for them.
    assert services.confirmation_channel(user=customer) == Challenge.Channel.MOBILE_TOKEN
    with pytest.raises(exceptions.MobileMakesTheCode):
        services.challenge_issue(
            user=customer,
            purpose="transfer",
            summary={"destination": "1"},
            text="x",
            text_params={},
        )


def all_text_in_the_database() -> str:
    """Every text column of every table (JSON too), as one string to search."""
    chunks = []
    for model in apps.get_models():
        fields = [
            f.column
            for f in model._meta.concrete_fields
            if isinstance(f, (models.CharField, models.TextField, models.JSONField))
        ]
        if not fields:
            continue
        with connection.cursor() as cursor:
            quoted = ", ".join(connection.ops.quote_name(c) for c in fields)
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT {quoted} FROM {table}")  # noqa: S608
            for row in cursor.fetchall():
                chunks.extend(str(v) for v in row if v is not None)
    return "\n".join(chunks)


@pytest.mark.django_db
def test_no_unlock_code_seed_or_key_anywhere_after_registration(
    customer, django_capture_on_commit_callbacks
):
    registration = otp_confirmed_registration(customer)
    device_id, seed = mobile.registration_seed_issue(registration=registration)
    key = mobile.unlock_key(seed, device_id, PIN)
    with django_capture_on_commit_callbacks(execute=True):
        mobile.registration_complete(
            registration=registration, unlock_key=key, user_agent="UA", label="Pixel 8"
        )
    text = all_text_in_the_database()
    assert "Pixel 8" in text  # the dump does see the tables
    for secret in (
        PIN,
        key.hex(),
        base64.urlsafe_b64encode(key).decode().rstrip("="),
        base64.b64encode(key).decode(),
        seed.hex(),
        base64.urlsafe_b64encode(seed).decode().rstrip("="),
        base64.b64encode(seed).decode(),
    ):
        assert secret not in text, secret
    # The seed is gone for good: not even sealed.
    assert MobileRegistration.objects.get().sealed_seed == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    "trivial",
    ["000000", "123456", "121212", "170888", "565678", "654321", "901234", "123123", "111222"],
)
def test_trivial_unlock_codes_are_refused_and_the_seed_kept(customer, trivial):
    # customer: born 1988-08-17 (DDMMYY 170888), phone +6281234565678 (last six 565678).
    registration = otp_confirmed_registration(customer)
    device_id, seed = mobile.registration_seed_issue(registration=registration)
    with pytest.raises(exceptions.UnlockCodeTooSimple):
        mobile.registration_complete(
            registration=registration,
            unlock_key=mobile.unlock_key(seed, device_id, trivial),
            user_agent="UA",
        )
    assert not MobileDevice.objects.exists()
    registration.refresh_from_db()
    assert registration.sealed_seed and registration.completed_at is None
    customer.refresh_from_db()
    assert customer.confirmation_method == User.ConfirmationMethod.SMS
    # The customer chooses again with the same seed: a good Unlock Code is accepted.
    device = mobile.registration_complete(
        registration=registration,
        unlock_key=mobile.unlock_key(seed, device_id, PIN),
        user_agent="UA",
    )
    assert device.revoked_at is None


def test_the_trivial_list_has_the_rules_of_the_design():
    from datetime import date

    codes = mobile.trivial_unlock_codes(birth_date=date(1988, 8, 17), phone="+6281234565678")
    for code in (
        "000000",
        "999999",
        "012345",
        "890123",
        "543210",
        "121212",
        "123123",
        "111222",
        "170888",
        "081788",
        "880817",
        "198808",
        "081988",
        "170819",
        "081988",
        "565678",
    ):
        assert code in codes, code
    assert PIN not in codes and OTHER_PIN not in codes
    assert 1200 <= len(codes) <= 1300


@pytest.mark.django_db
def test_seeds_per_registration_are_limited(customer, settings):
    settings.MOBILE_TOKEN_SEEDS_PER_REGISTRATION = 3
    registration = otp_confirmed_registration(customer)
    seeds = {mobile.registration_seed_issue(registration=registration)[1] for _ in range(3)}
    assert len(seeds) == 3  # a new S each time
    with pytest.raises(exceptions.RegistrationExpired):
        mobile.registration_seed_issue(registration=registration)
    # Ended at once (seed gone), not left open until it expires (attack finding F3).
    ended = MobileRegistration.objects.get()
    assert ended.seeds_issued == 3 and ended.is_expired and ended.sealed_seed == ""


@pytest.mark.django_db
def test_only_the_latest_seed_registers(customer):
    registration = otp_confirmed_registration(customer)
    device_id, first = mobile.registration_seed_issue(registration=registration)
    _, second = mobile.registration_seed_issue(registration=registration)
    # The phone asked again (after a refused Unlock Code): the key of the latest seed is kept.
    device = mobile.registration_complete(
        registration=registration,
        unlock_key=mobile.unlock_key(second, device_id, PIN),
        user_agent="UA",
    )
    assert hardware.seed_unseal(device.sealed_key) == mobile.unlock_key(second, device_id, PIN)
    assert first != second


@pytest.mark.django_db
def test_no_seed_before_the_otp_and_no_completion_without_a_seed(customer):
    registration = mobile.registration_start(user=customer)
    with pytest.raises(exceptions.RegistrationExpired):
        mobile.registration_seed_issue(registration=registration)
    MobileRegistration.objects.filter(pk=registration.pk).update(otp_confirmed_at=timezone.now())
    with pytest.raises(exceptions.RegistrationExpired):
        mobile.registration_complete(registration=registration, unlock_key=bytes(32), user_agent="")
    assert not MobileDevice.objects.exists()


@pytest.mark.django_db
def test_an_expired_registration_is_refused_at_every_step(customer):
    registration = otp_confirmed_registration(customer)
    device_id, seed = mobile.registration_seed_issue(registration=registration)
    MobileRegistration.objects.filter(pk=registration.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(exceptions.RegistrationExpired):
        mobile.registration_seed_issue(registration=registration)
    with pytest.raises(exceptions.RegistrationExpired):
        mobile.registration_complete(
            registration=registration,
            unlock_key=mobile.unlock_key(seed, device_id, PIN),
            user_agent="",
        )
    with pytest.raises(exceptions.RegistrationExpired):
        mobile.registration_otp_confirmed(registration=registration)
    # A new start deletes the expired one (and its sealed seed) and makes a new one.
    fresh = mobile.registration_start(user=customer)
    assert fresh.pk != registration.pk
    assert list(MobileRegistration.objects.values_list("pk", flat=True)) == [fresh.pk]


@pytest.mark.django_db
def test_an_expired_registration_consumes_no_otp(customer):
    registration = mobile.registration_start(user=customer)
    summary = mobile.registration_intent(registration)
    challenge = services.challenge_issue(
        user=customer,
        purpose="mobile_registration",
        summary=summary,
        text="x",
        text_params={},
        to=customer.phone,
    )
    MobileRegistration.objects.filter(pk=registration.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with (
        pytest.raises(exceptions.RegistrationExpired),
        services.challenge_verify(
            user=customer,
            purpose="mobile_registration",
            summary=summary,
            code=services.code_generator.code(challenge),
            challenge=challenge,
            by_sms=True,
        ),
    ):
        mobile.registration_otp_confirmed(registration=registration)
    assert Challenge.objects.get(pk=challenge.pk).status == Challenge.Status.PENDING


@pytest.mark.django_db
def test_a_new_start_ends_the_open_registrations(customer):
    """A registration belongs to the session that started it (attack finding F1): a new start,
    from another login, never gets the one an OTP confirmed there, and that one is gone."""
    first = otp_confirmed_registration(customer)
    mobile.registration_seed_issue(registration=first)
    second = mobile.registration_start(user=customer)
    assert second.pk != first.pk and second.otp_confirmed_at is None
    assert list(MobileRegistration.objects.values_list("pk", flat=True)) == [second.pk]
    assert mobile.registration_intent(second) == {"registration": str(second.pk)}


@pytest.mark.django_db
def test_completed_twice_is_refused(customer):
    registration = otp_confirmed_registration(customer)
    device_id, seed = mobile.registration_seed_issue(registration=registration)
    key = mobile.unlock_key(seed, device_id, PIN)
    mobile.registration_complete(registration=registration, unlock_key=key, user_agent="")
    with pytest.raises(exceptions.RegistrationExpired):
        mobile.registration_complete(registration=registration, unlock_key=key, user_agent="")
    with pytest.raises(exceptions.RegistrationExpired):
        mobile.registration_seed_issue(registration=registration)
    assert MobileDevice.objects.count() == 1
    # The next start is a new registration (the completed one is not reused).
    assert mobile.registration_start(user=customer).pk != registration.pk


@pytest.mark.django_db
def test_corporate_users_staff_and_users_without_a_phone_are_refused(customer):
    company = Company.objects.create(name="PT Maju", cif="CIFC000001", corporate_id="MAJU")
    corporate = UserFactory(user_id="MAJU:andi", company=company)
    with pytest.raises(exceptions.MobileTokenRetailOnly):
        mobile.registration_start(user=corporate)
    staff = UserFactory(user_id="staf1", is_staff=True)
    with pytest.raises(exceptions.MobileTokenRetailOnly):
        mobile.registration_start(user=staff)
    User.objects.filter(pk=customer.pk).update(phone="")
    customer.refresh_from_db()
    with pytest.raises(exceptions.NoPhone):
        mobile.registration_start(user=customer)
    assert not MobileRegistration.objects.exists()
    with translation.override("id"):
        assert str(exceptions.MobileTokenRetailOnly().message) != (
            "The Mobile Token is for personal (retail) customers only."
        )


@pytest.mark.django_db
def test_a_blocked_customer_completes_nothing(customer):
    registration = otp_confirmed_registration(customer)
    device_id, seed = mobile.registration_seed_issue(registration=registration)
    account_services.access_block(user=customer, kind="otp_failures", reason="5 wrong")
    with pytest.raises(exceptions.OtpBlocked):
        mobile.registration_complete(
            registration=registration,
            unlock_key=mobile.unlock_key(seed, device_id, PIN),
            user_agent="",
        )
    assert not MobileDevice.objects.exists()


@pytest.mark.django_db
def test_a_new_phone_replaces_the_old_one(customer, django_capture_on_commit_callbacks):
    old, _ = register(customer, label="Phone lama")
    new, _ = register(customer, pin=OTHER_PIN, label="Phone baru")
    old.refresh_from_db()
    assert old.revoked_at is not None and old.revoke_reason == "replaced"
    assert old.revoked_by == customer and old.confirmed is False
    assert MobileDevice.objects.filter(user=customer, revoked_at__isnull=True).get() == new
    revoked = AuditEvent.objects.get(action="mobile_token_revoked", subject=customer)
    assert revoked.data == {
        "device": str(old.public_id),
        "label": "Phone lama",
        "reason": "replaced",
    }
    registered = AuditEvent.objects.filter(action="mobile_token_registered").latest("created_at")
    assert registered.data["replaced"] == [str(old.public_id)]


@pytest.mark.django_db
def test_audit_events_hold_no_secret(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        device, key = register(customer)
        mobile.device_revoke(device=device, actor=customer, reason="customer")
    events = AuditEvent.objects.filter(subject=customer)
    assert (
        events.filter(action__in=["mobile_token_registered", "mobile_token_revoked"]).count() == 2
    )
    dump = " ".join(f"{e.reason} {e.data}" for e in events)
    assert PIN not in dump and key.hex() not in dump and "sealed" not in dump
    assert device.sealed_key not in dump


@pytest.mark.django_db
def test_label_is_kept_short_and_plain():
    assert mobile.label_clean("  Pixel\u202e 8 Pro <script>  ") == "Pixel 8 Pro script"
    assert mobile.label_clean("x" * 100) == "x" * mobile.LABEL_MAX
    assert mobile.label_clean("", user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)") == "iPhone"
    assert mobile.label_clean("📱", user_agent="") == "Mobile Token"


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("text", [mobile.MOBILE_REGISTERED_TEXT, mobile.MOBILE_REVOKED_TEXT])
def test_notices_are_one_gsm7_segment_at_their_longest(customer, language, text, settings):
    settings.BANK_CALL_CENTRE = "(021) 1500 123 ext 99"
    User.objects.filter(pk=customer.pk).update(language=language)
    customer.refresh_from_db()
    message = services.notice_send(
        user=customer,
        text=text,
        params={"device": "W" * mobile.LABEL_MAX, "call_centre": settings.BANK_CALL_CENTRE},
        email=False,
    )
    services.notice_deliver(message_id=message.pk)
    body = OutboxMessage.objects.get().body
    assert "W" * mobile.LABEL_MAX in body and body.startswith("Bank Nusantara")
    assert len(body) <= 160 and set(body) <= GSM7, (len(body), body)


# --- De-registration -------------------------------------------------------------------------


@pytest.mark.django_db
def test_customer_deregisters_and_goes_back_to_sms(customer, django_capture_on_commit_callbacks):
    device, _ = register(customer)
    with django_capture_on_commit_callbacks(execute=True):
        mobile.device_revoke(device=device, actor=customer, reason="customer", ip="10.0.0.9")
    device.refresh_from_db()
    assert device.revoke_reason == "customer" and device.revoked_by == customer
    assert device.revoked_at is not None and device.confirmed is False
    customer.refresh_from_db()
    assert customer.confirmation_method == User.ConfirmationMethod.SMS
    assert services.confirmation_channel(user=customer) == Challenge.Channel.SMS
    event = AuditEvent.objects.get(action="mobile_token_revoked", subject=customer)
    assert event.actor == customer and event.ip_address == "10.0.0.9"
    assert event.data["reason"] == "customer"
    assert AuditEvent.objects.filter(
        action="confirmation_method_changed", data__to="sms", subject=customer
    ).exists()
    assert OutboxMessage.objects.filter(body__contains="dihapus").exists()
    assert EmailMessage.objects.filter(user=customer).count() == 2  # registered, de-registered
    # Twice: nothing left to de-register.
    with pytest.raises(exceptions.NoMobileDevice):
        mobile.device_revoke(device=device, actor=customer, reason="customer")


@pytest.mark.django_db
def test_staff_deregister_and_a_usable_hardware_token_takes_over(customer):
    HardwareToken.objects.create(
        serial="FT1",
        algorithm="hotp",
        digits=6,
        state="active",
        user=customer,
        sealed_seed=hardware.seed_seal(b"12345678901234567890"),
    )
    device, _ = register(customer)
    customer.refresh_from_db()
    assert customer.confirmation_method == User.ConfirmationMethod.MOBILE_TOKEN
    agent, _ = staff_make("agen1", "agent")
    mobile.device_revoke(device=device, actor=agent, reason="Telepon hilang, nasabah menelepon")
    device.refresh_from_db()
    assert device.revoke_reason == "staff" and device.revoked_by == agent
    customer.refresh_from_db()
    assert customer.confirmation_method == User.ConfirmationMethod.HARDWARE_TOKEN
    event = AuditEvent.objects.get(action="mobile_token_revoked", subject=customer)
    assert event.actor == agent and event.reason == "Telepon hilang, nasabah menelepon"


@pytest.mark.django_db
def test_deregistration_needs_the_holder_or_the_permission(customer, other_customer):
    from accounts.exceptions import ReasonRequired

    device, _ = register(customer)
    officer, _ = staff_make("petugas1", "branch")  # no deregister_mobile_device
    for actor in (other_customer, officer):
        with pytest.raises(exceptions.TokenActionRefused):
            mobile.device_revoke(device=device, actor=actor, reason="staff")
    agent, _ = staff_make("agen1", "agent")
    with pytest.raises(ReasonRequired):
        mobile.device_revoke(device=device, actor=agent, reason="  ")
    device.refresh_from_db()
    assert device.revoked_at is None
    assert not AuditEvent.objects.filter(action="mobile_token_revoked").exists()


@pytest.mark.django_db
def test_a_customer_without_email_gets_the_sms_only(customer):
    User.objects.filter(pk=customer.pk).update(email="")
    customer.refresh_from_db()
    register(customer)
    assert SmsMessage.objects.filter(user=customer, challenge__isnull=True).count() == 1
    assert not EmailMessage.objects.exists()


# --- Races (PostgreSQL) ------------------------------------------------------------------------


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_parallel_completions_of_one_registration_make_one_device(customer):
    registration = otp_confirmed_registration(customer)
    device_id, seed = mobile.registration_seed_issue(registration=registration)
    key = mobile.unlock_key(seed, device_id, PIN)

    results = run_at_once(
        2,
        lambda _: mobile.registration_complete(
            registration=MobileRegistration.objects.get(pk=registration.pk),
            unlock_key=key,
            user_agent="",
        ),
    )

    devices = [r for r in results if isinstance(r, MobileDevice)]
    refused = [r for r in results if isinstance(r, exceptions.RegistrationExpired)]
    assert len(devices) == 1 and len(refused) == 1, results
    assert MobileDevice.objects.count() == 1
    assert AuditEvent.objects.filter(action="mobile_token_registered").count() == 1


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_completions_of_two_registrations_leave_one_active_device(customer):
    # Two registrations of one customer (made directly: registration_start shares the live
    # one), both past their OTP, completed at once.
    registrations, keys = [], []
    for _ in range(2):
        registration = MobileRegistration.objects.create(
            user=customer,
            otp_confirmed_at=timezone.now(),
            expires_at=timezone.now() + timedelta(minutes=10),
        )
        device_id, seed = mobile.registration_seed_issue(registration=registration)
        registrations.append(registration)
        keys.append(mobile.unlock_key(seed, device_id, PIN))

    results = run_at_once(
        2,
        lambda i: mobile.registration_complete(
            registration=MobileRegistration.objects.get(pk=registrations[i].pk),
            unlock_key=keys[i],
            user_agent="",
        ),
    )

    assert all(isinstance(r, MobileDevice) for r in results), results
    assert MobileDevice.objects.filter(user=customer, revoked_at__isnull=True).count() == 1
    assert MobileDevice.objects.filter(user=customer, revoke_reason="replaced").count() == 1


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_seed_requests_never_pass_the_limit(customer):
    registration = otp_confirmed_registration(customer)

    results = run_at_once(
        12,
        lambda _: mobile.registration_seed_issue(
            registration=MobileRegistration.objects.get(pk=registration.pk)
        ),
    )

    issued = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, exceptions.RegistrationExpired)]
    assert len(issued) == 5 and len(refused) == 7, results
    assert len({seed for _, seed in issued}) == 5
    assert MobileRegistration.objects.get().seeds_issued == 5


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_deregistrations_revoke_once_and_tell_once(customer):
    device, _ = register(customer)
    agent, _ = staff_make("agen1", "agent")
    actors = [customer, agent]

    results = run_at_once(
        2,
        lambda i: mobile.device_revoke(
            device=MobileDevice.objects.get(pk=device.pk), actor=actors[i], reason="hilang"
        ),
    )

    assert sorted(type(r).__name__ for r in results) == ["NoMobileDevice", "NoneType"], results
    assert AuditEvent.objects.filter(action="mobile_token_revoked").count() == 1
    assert SmsMessage.objects.filter(notice__text=mobile.MOBILE_REVOKED_TEXT).count() == 1
    customer.refresh_from_db()
    assert customer.confirmation_method == User.ConfirmationMethod.SMS


@pytest.mark.django_db
def test_a_key_that_is_not_32_bytes_is_a_programming_error(customer):
    registration = otp_confirmed_registration(customer)
    mobile.registration_seed_issue(registration=registration)
    for bad in (b"", bytes(31), bytes(33), "x" * 32):
        with pytest.raises(ValueError):
            mobile.registration_complete(registration=registration, unlock_key=bad, user_agent="")
    assert not MobileDevice.objects.exists()
