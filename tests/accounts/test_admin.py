"""The staff side through the real admin: TOTP login, roles, flag and unblock, the audit log."""

import json
from base64 import b32encode
from datetime import timedelta
from decimal import Decimal

import pyotp
import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone, translation

from accounts import exceptions, services
from accounts.models import AccessBlock, AuditEvent, User
from payments import services as payment_services
from payments.models import BankAccount
from tests.conftest import outbox_code
from tests.factories import PASSWORD, BankAccountFactory, UserFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = "/admin/accounts/user/"
AUDIT = "/admin/accounts/auditevent/"


def staff_make(user_id, role):
    user, device = services.staff_create(
        user_id=user_id, full_name=f"Staf {role}", password=PASSWORD, role=role
    )
    return user, device


def totp_now(device) -> str:
    return pyotp.TOTP(b32encode(device.bin_key).decode()).now()


def admin_login(client, user, device, *, token=None):
    return client.post(
        "/admin/login/?next=/admin/",
        {
            "username": user.user_id,
            "password": PASSWORD,
            "otp_token": totp_now(device) if token is None else token,
        },
    )


def staff_client(role, user_id=None):
    user, device = staff_make(user_id or f"staf-{role}", role)
    client = Client()
    response = admin_login(client, user, device)
    assert response.status_code == 302, response.content.decode()[:3000]
    return client, user


def login(client, user_id, password):
    return client.post("/login/", {"username": user_id, "password": password})


# --- logging in -----------------------------------------------------------------------------


def test_staff_login_without_or_with_a_wrong_otp_is_refused(client):
    user, device = staff_make("staf01", "supervisor")
    assert admin_login(client, user, device, token="").status_code == 200
    wrong = f"{(int(totp_now(device)) + 1) % 10**6:06d}"
    assert admin_login(client, user, device, token=wrong).status_code == 200
    assert client.get("/admin/").status_code == 302


def test_staff_login_with_their_totp(client):
    user, device = staff_make("staf01", "supervisor")
    response = admin_login(client, user, device)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200
    user.refresh_from_db()
    # The admin session is the staff member's only session (SessionSecurityMiddleware).
    assert user.session_key == client.session.session_key
    assert AuditEvent.objects.filter(action="login", subject=user).exists()
    # The same code is accepted once (django-otp's last_t).
    again = Client()
    assert admin_login(again, user, device, token=response.wsgi_request.POST["otp_token"]).status_code == 200


def test_customers_never_reach_the_admin_or_the_enrolment(client, customer):
    assert login(client, "budi", PASSWORD).status_code == 302
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert client.get(CUSTOMERS).status_code == 302
    assert client.get("/staff/otp/enrol/").status_code == 404
    other = Client()
    assert other.post(
        "/admin/login/", {"username": "budi", "password": PASSWORD, "otp_token": "123456"}
    ).status_code == 200


def test_staff_admin_logout_ends_the_session():
    client, user = staff_client("agent")
    response = client.post("/admin/logout/")
    assert response.status_code == 302 and response["Location"] == "/admin/login/"
    user.refresh_from_db()
    assert user.session_key == ""
    assert client.get("/admin/").status_code == 302


def test_staff_logout_with_the_key_an_enrolment_just_cycled_away_still_ends_the_session():
    """As for customers (F2): the TOTP enrolment cycles the session key; a logout from another
    tab still carrying the old key, read after the cycle and the rebind, still ends the session."""
    from django.conf import settings

    client, user = staff_client("agent")
    session = client.session.__class__(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
    old_key = session.session_key
    services.session_cycle_note(user=user, old_key=old_key)  # what the enrolment does first
    session.cycle_key()
    assert services.session_rebind(user=user, old_key=old_key, session_key=session.session_key)
    session.save()

    response = client.post("/admin/logout/")  # still carries the old key

    assert response.status_code == 302  # Django's admin: to the index, which asks for a login
    user.refresh_from_db()
    assert user.session_key == ""
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    assert client.get("/admin/").status_code == 302


# --- roles ----------------------------------------------------------------------------------

# What each role may do: HTTP status of each page, and whether the action took effect.
ROLE_TABLE = {
    #             changelist overview flag-page unblock-page audit flag-post  unblock-flag  unblock-otp
    "agent":      (200,       200,     200,      200,         403,  "flagged", "refused",    "lifted"),
    "branch":     (200,       200,     403,      403,         403,  403,       403,          403),
    "supervisor": (200,       200,     200,      200,         200,  "flagged", "lifted",     "lifted"),
}


@pytest.mark.parametrize("role", ROLE_TABLE)
def test_each_role_sees_and_does_what_it_should(role, customer, other_customer):
    (changelist, overview, flag_page, unblock_page, audit, flag_post, unblock_flag, unblock_otp) = (
        ROLE_TABLE[role]
    )
    client, staff = staff_client(role)
    assert client.get(CUSTOMERS).status_code == changelist
    assert client.get(f"{CUSTOMERS}{customer.pk}/change/").status_code == overview
    assert client.get(f"{CUSTOMERS}{customer.pk}/flag/").status_code == flag_page
    assert client.get(f"{CUSTOMERS}{customer.pk}/unblock/").status_code == unblock_page
    assert client.get(AUDIT).status_code == audit
    # Nobody adds, changes or deletes customers through the admin.
    assert client.get(f"{CUSTOMERS}add/").status_code == 403
    assert client.post(f"{CUSTOMERS}{customer.pk}/change/", {"full_name": "X"}).status_code == 403
    assert client.post(f"{CUSTOMERS}{customer.pk}/delete/", {"post": "yes"}).status_code == 403

    # Flag access (lost phone).
    response = client.post(
        f"{CUSTOMERS}{customer.pk}/flag/", {"kind": "lost_phone", "reason": "phone stolen"}
    )
    flagged = AccessBlock.objects.active().filter(user=customer, kind="lost_phone").exists()
    if flag_post == "flagged":
        assert response.status_code == 302 and flagged
        event = AuditEvent.objects.filter(action="access_blocked", subject=customer).get()
        assert event.actor == staff and event.ip_address == "127.0.0.1"
        assert event.reason == "phone stolen"
    else:
        assert response.status_code == flag_post and not flagged

    # Unblock a lost-phone flag: a supervisor only.
    services.access_block(user=customer, kind="lost_phone", reason="reported lost")
    response = client.post(f"{CUSTOMERS}{customer.pk}/unblock/", {"reason": "new SIM, ID checked"})
    still = AccessBlock.objects.active().filter(user=customer, kind="lost_phone").exists()
    if unblock_flag == "lifted":
        assert response.status_code == 302 and not still
    elif unblock_flag == "refused":
        assert response.status_code == 200 and still
        assert str(exceptions.FlagNeedsSupervisor()) in response.content.decode()
    else:
        assert response.status_code == unblock_flag and still

    # Unblock what wrong OTPs caused: agents and supervisors.
    services.access_block(user=other_customer, kind="otp_failures", reason="5 wrong OTPs")
    response = client.post(f"{CUSTOMERS}{other_customer.pk}/unblock/", {"reason": "called, ID ok"})
    still = AccessBlock.objects.active().filter(user=other_customer).exists()
    if unblock_otp == "lifted":
        assert response.status_code == 302 and not still
    else:
        assert response.status_code == unblock_otp and still


def test_roles_are_groups_with_only_their_permissions():
    import importlib

    from django.contrib.auth.models import Group

    migration = importlib.import_module("accounts.migrations.0002_staff_roles")
    phone_migration = importlib.import_module("accounts.migrations.0004_change_phone_permission")
    four_eyes = importlib.import_module("accounts.migrations.0010_contact_change_request")
    companies = importlib.import_module("accounts.migrations.0017_company")
    frozen = {
        group: sorted(
            codenames
            + ([phone_migration.CODENAME] if group in phone_migration.GROUPS else [])
            + [code for code, (_, groups) in four_eyes.GRANTS.items() if group in groups]
            + (["view_company"] if group in companies.ROLES else [])
        )
        for group, codenames in migration.ROLES.items()
    }
    assert {
        services.ROLE_GROUPS[role]: sorted(codenames)
        for role, codenames in services.ROLE_PERMISSIONS.items()
    } == frozen
    services.roles_sync()  # what the migration did, in case a transactional test flushed it

    perms = {  # the accounts permissions; tokens grants its own (tests/tokens)
        group.name: sorted(
            p.codename for p in group.permissions.all() if p.content_type.app_label == "accounts"
        )
        for group in Group.objects.prefetch_related("permissions__content_type")
    }
    assert perms["Call centre agent"] == [
        "flag_access", "unblock_access", "view_company", "view_user"
    ]
    assert perms["Branch officer"] == ["change_email", "change_phone", "view_company", "view_user"]
    assert perms["Supervisor"] == [
        "approve_contact_change", "change_email", "change_phone", "flag_access",
        "unblock_access", "unblock_lost_phone", "view_auditevent", "view_company", "view_user",
    ]


def test_a_reason_is_required(customer):
    client, _ = staff_client("supervisor")
    response = client.post(f"{CUSTOMERS}{customer.pk}/flag/", {"kind": "lost_phone", "reason": "  "})
    assert response.status_code == 200 and not AccessBlock.objects.exists()
    response = client.post(f"{CUSTOMERS}{customer.pk}/flag/", {"kind": "self_flag", "reason": "x"})
    assert response.status_code == 200 and not AccessBlock.objects.exists()
    with pytest.raises(exceptions.ReasonRequired):
        services.access_unblock(user=customer, reason=" ", actor=None)


def test_staff_cannot_act_on_themselves_or_other_staff():
    client, staff = staff_client("supervisor")
    colleague, _ = staff_make("staf-lain", "agent")
    # Staff are not customers: the customer pages do not find them.
    assert client.get(f"{CUSTOMERS}{staff.pk}/change/").status_code == 404
    assert client.post(f"{CUSTOMERS}{staff.pk}/unblock/", {"reason": "me"}).status_code == 404
    assert client.post(f"{CUSTOMERS}{colleague.pk}/flag/", {"kind": "staff_flag", "reason": "x"}).status_code == 404
    # And the services refuse it whoever calls them.
    with pytest.raises(exceptions.OwnRecord):
        services.access_unblock(user=staff, reason="let me in", actor=staff)
    with pytest.raises(exceptions.OwnRecord):
        services.access_block(user=staff, kind="staff_flag", reason="x", actor=staff)
    with pytest.raises(exceptions.NotACustomer):
        services.access_unblock(user=colleague, reason="x", actor=staff)


def test_customer_may_flag_only_themselves(customer, other_customer):
    services.access_block(user=customer, kind="self_flag", reason="", actor=customer)
    with pytest.raises(exceptions.StaffError):
        services.access_block(user=other_customer, kind="self_flag", reason="x", actor=customer)
    with pytest.raises(exceptions.StaffError):
        services.access_unblock(user=customer, reason="x", actor=customer)
    agent, _ = staff_make("staf-agen", "agent")
    with pytest.raises(exceptions.FlagNeedsSupervisor):
        services.access_unblock(user=customer, reason="x", actor=agent)


# --- what unblock and flag do to the customer -----------------------------------------------


def test_unblock_clears_lockouts_so_the_customer_logs_in_and_confirms(
    customer, other_customer, django_capture_on_commit_callbacks
):
    customer_browser = Client()
    for _ in range(5):
        login(customer_browser, "budi", "salah-sekali")
    for _ in range(5):
        services.otp_failure_record(user=customer, max_failures=5)
    assert login(customer_browser, "budi", PASSWORD).status_code == 403

    client, agent = staff_client("agent")
    page = client.get(f"{CUSTOMERS}{customer.pk}/change/").content.decode()
    assert "5 / 5" in page  # wrong passwords and wrong OTPs, each at the limit
    with translation.override("id"):
        assert translation.gettext("Too many wrong OTPs") in page
    response = client.post(f"{CUSTOMERS}{customer.pk}/unblock/", {"reason": "ID checked by phone"})
    assert response.status_code == 302
    event = AuditEvent.objects.filter(action="access_unblocked").get()
    assert event.actor == agent and event.ip_address == "127.0.0.1"
    assert sorted(event.data["lifted"]) == ["login_lockout", "otp_failures"]
    assert not AccessAttempt.objects.exists()

    assert login(customer_browser, "budi", PASSWORD).status_code == 302
    transfer = payment_services.transfer_create(
        user=customer,
        source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"),
        amount=Decimal("1500000"),
        description="",
    )
    with django_capture_on_commit_callbacks(execute=True):
        customer_browser.post(f"/transfers/{transfer.reference}/otp/")
    response = customer_browser.post(
        f"/transfers/{transfer.reference}/confirm/", {"code": outbox_code()}
    )
    assert response.status_code == 302
    assert BankAccount.objects.get(number="1002000017").balance == Decimal("9000000.00")


def test_flag_ends_the_open_session_and_blocks_login(
    customer_client, customer, django_capture_on_commit_callbacks
):
    assert customer_client.get("/dashboard/").status_code == 200
    session_key = customer_client.session.session_key
    client, _ = staff_client("agent")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{CUSTOMERS}{customer.pk}/flag/", {"kind": "lost_phone", "reason": "phone stolen"}
        )
    assert response.status_code == 302
    response = customer_client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert login(Client(), "budi", PASSWORD).status_code == 200  # refused: blocked
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=session_key).exists()


# --- the customer pages ---------------------------------------------------------------------


def test_search_by_user_id_cif_phone_and_account(customer, other_customer):
    client, _ = staff_client("branch")
    for term in ["budi", customer.cif, "0812-3456-5678", "+62 812 3456 5678", "1001000029"]:
        page = client.get(CUSTOMERS, {"q": term}).content.decode()
        assert ">budi<" in page, term
        assert ">siti<" not in page, term


def test_overview_shows_why_and_no_secret(customer):
    services.access_block(user=customer, kind="lost_phone", reason="lost in Bandung")
    client, _ = staff_client("supervisor")
    page = client.get(f"{CUSTOMERS}{customer.pk}/change/").content.decode()
    assert "lost in Bandung" in page
    assert "+62 812-****-5678" in page and "6281234565678" not in page
    customer.refresh_from_db()
    assert customer.password not in page
    assert "session_key" not in page and "md5$" not in page


# --- the audit log --------------------------------------------------------------------------


def test_audit_log_is_append_only(customer):
    services.audit_log(action="login", subject=customer, actor=customer, ip="10.0.0.1")
    event = AuditEvent.objects.get()
    client, _ = staff_client("supervisor")
    count = AuditEvent.objects.count()
    assert client.get(f"{AUDIT}add/").status_code == 403
    assert client.post(f"{AUDIT}add/", {"action": "login"}).status_code == 403
    page = client.get(f"{AUDIT}{event.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(f"{AUDIT}{event.pk}/change/", {"action": "logout"}).status_code == 403
    assert client.get(f"{AUDIT}{event.pk}/delete/").status_code == 403
    assert client.post(f"{AUDIT}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    changelist = client.get(AUDIT).content.decode()
    assert "delete_selected" not in changelist
    client.post(AUDIT, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})
    event.refresh_from_db()
    assert event.action == "login" and AuditEvent.objects.count() >= count
    # Filter by action and date, search by the customer's User ID.
    assert client.get(AUDIT, {"action__exact": "login"}).status_code == 200
    assert client.get(AUDIT, {"created_at__gte": str(timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0))}).status_code == 200
    assert ">budi<" in client.get(AUDIT, {"q": "budi"}).content.decode()


def test_audit_log_holds_no_otp_seed_or_password(
    customer, other_customer, django_capture_on_commit_callbacks
):
    secrets = {PASSWORD}
    browser = Client()
    login(browser, "budi", "Salah-Tebakan-1")
    assert login(browser, "budi", PASSWORD).status_code == 302
    transfer = payment_services.transfer_create(
        user=customer,
        source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"),
        amount=Decimal("250000"),
        description="",
    )
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(f"/transfers/{transfer.reference}/otp/")
    code = outbox_code()
    secrets.add(code)
    browser.post(f"/transfers/{transfer.reference}/confirm/", {"code": f"{(int(code) + 7) % 10**6:06d}"})
    browser.post(f"/transfers/{transfer.reference}/confirm/", {"code": code})

    staff, device = staff_make("staf-sup", "supervisor")
    token = totp_now(device)
    secrets |= {token, device.key, b32encode(device.bin_key).decode()}
    client = Client()
    assert admin_login(client, staff, device, token=token).status_code == 302
    client.post(f"{CUSTOMERS}{customer.pk}/flag/", {"kind": "lost_phone", "reason": "stolen"})
    client.post(f"{CUSTOMERS}{customer.pk}/unblock/", {"reason": "found again"})

    rows = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert AuditEvent.objects.count() >= 8
    for secret in secrets:
        assert secret not in rows, secret


# --- query counts ---------------------------------------------------------------------------


def test_admin_lists_have_a_bounded_query_count(django_assert_max_num_queries):
    customers = UserFactory.create_batch(200)
    for user in customers[:20]:
        services.access_block(user=user, kind="staff_flag", reason="check")
        BankAccountFactory(owner=user)
    for user in customers[20:30]:
        AccessAttempt.objects.create(
            username=user.user_id, ip_address="10.0.0.1", user_agent="t", failures_since_start=5,
            get_data="", post_data="", http_accept="", path_info="/login/",
        )
    client, _ = staff_client("supervisor")
    with django_assert_max_num_queries(12):
        assert client.get(CUSTOMERS).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(CUSTOMERS, {"p": 3}).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(CUSTOMERS, {"q": customers[5].user_id}).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(AUDIT).status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get(f"{CUSTOMERS}{customers[3].pk}/change/").status_code == 200
    page = client.get(CUSTOMERS, {"q": customers[25].user_id}).content.decode()
    with translation.override("id"):
        assert translation.gettext("login locked") in page


# --- management commands --------------------------------------------------------------------


def test_staff_create_prints_the_otpauth_uri_once(capsys):
    from django.core.management import call_command

    call_command("staff_create", "kepala01", "--role", "supervisor", "--password", "Kuat-Sekali-2026", "--no-qr")
    out = capsys.readouterr().out
    uri = next(line for line in out.splitlines() if line.startswith("otpauth://"))
    totp = pyotp.parse_uri(uri)
    user = User.objects.get(user_id="kepala01")
    assert user.is_staff and user.groups.get().name == "Supervisor"
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "kepala01", "password": "Kuat-Sekali-2026", "otp_token": totp.now()},
    )
    assert response.status_code == 302 and client.get(AUDIT).status_code == 200


def test_demo_data_has_one_staff_user_per_role(settings):
    from django.core.management import call_command

    settings.DEBUG = True
    call_command("demo_data")
    call_command("demo_data")  # idempotent
    seeds = {
        "agen": "IFTWK3RNIRSW23ZNKRHVIUBNGIYDENRB",
        "cabang": "INQWEYLOM4WUIZLNN4WVIT2UKAWTENRB",
        "supervisor": "KN2XAZLSOZUXG33SFVKE6VCQFUZDAMRW",
    }
    passwords = {"agen": "Agen-Demo-2026", "cabang": "Cabang-Demo-2026", "supervisor": "Supervisor-Demo-2026"}
    for offset, (user_id, seed) in enumerate(seeds.items()):
        client = Client()
        with time_machine.travel(timezone.now() + timedelta(minutes=offset)):
            code = pyotp.TOTP(seed).now()
            response = client.post(
                "/admin/login/?next=/admin/",
                {"username": user_id, "password": passwords[user_id], "otp_token": code},
            )
            assert response.status_code == 302, user_id
            assert client.get(CUSTOMERS).status_code == 200
