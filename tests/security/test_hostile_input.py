"""Hostile input on every URL of the portal (issue 13 item 11): no input gives a 500.

The table is the URLconf itself: every URL name is fuzzed as the person it belongs to (an
anonymous visitor, the retail customer, a corporate user, a member of staff holding every role,
the admin's pages included), unless ``EXCLUDED`` says why not; ``test_every_url_is_fuzzed``
fails for a new URL that is in neither. For each URL the test reads the page's own forms (the
fields a POST to that URL takes, the query names of its filter forms and links) and then, for
each hypothesis example, sends one GET with hostile query parameters and one POST with hostile
fields, a path parameter sometimes replaced by a hostile one (huge numbers, other digit scripts,
NUL, ...). A field gets a valid value, a hostile one, or none, so hostile values reach the
checks behind the first ones. Any 500 fails with its traceback.

Every example runs in a savepoint that is rolled back, with the client's cookies and the cache
restored, so each starts from the same state and hypothesis' runs are reproducible
(``derandomize``). ``HOSTILE_EXAMPLES`` sets the examples per URL and actor (CI: the default).
"""

import os
import traceback
from urllib.parse import urlencode, urlsplit

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import PASSWORD
from tests.security.hostile import (
    RETAIL_SOURCE,
    World,
    cookies_of,
    cookies_restore,
    file_names,
    hostile_segment,
    hostile_value,
    page_fields,
    path_with,
    url_names,
    walk,
)

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "4"))

ANONYMOUS = {
    "portal:home", "portal:help", "portal:language", "accounts:login", "accounts:corporate-login",
    "accounts:logged-out", "accounts:password-reset", "accounts:password-reset-confirm",
    "accounts:password-reset-otp", "accounts:password-reset-set", "accounts:password-reset-done",
    "tokens:sms-status", "tokens:mobile-app", "tokens:mobile-sw", "tokens:mobile-manifest",
    "tokens:outbox",
}
CORPORATE = {
    "payments:payment-list", "payments:payment-create", "payments:payment-detail",
    "payments:payment-confirm", "payments:payment-otp", "payments:payment-cancel",
    "payments:payment-reject", "corporate:request-list", "corporate:request-create-token",
    "corporate:request-create-contact", "corporate:request-detail", "corporate:request-correct",
}
# Pages more than one kind of person reaches, fuzzed as each.
ALSO = {
    "portal:dashboard": ("corporate",),
    "portal:language": ("customer",),
    "accounts:profile": ("corporate",),
    "payments:statement-index": ("corporate",),
    "accounts:login": ("customer",),
}
EXCLUDED = {
    # (none: every URL name is fuzzed; a reason goes here for one that cannot be)
}
# The valid values a field starts from, where the page does not show them.
GOOD = {
    "accounts:login": {"username": "budi", "password": PASSWORD},
    "accounts:corporate-login": {
        "corporate_id": "MAJUBERSAMA", "username": "andi", "password": PASSWORD
    },
    "accounts:password-reset": {
        "user_id": "budi", "birth_date": "17/08/1988", "account_number": RETAIL_SOURCE
    },
    "tokens:token-activate": {"birth_date": "17/08/1988", "serial": "FT10000001"},
    "payments:transfer-create": {"destination_number": "1002000017", "amount": "150.000"},
    "payments:payment-create": {"destination_number": "1002000017", "amount": "150.000"},
    "payments:payee-create": {"account_number": "1002000017", "nickname": "Siti"},
    "payments:statement": {"start": "01/01/2026", "end": "31/01/2026"},
}
# Query names worth trying on every page, besides those its forms and links show.
COMMON_QUERY = ["q", "p", "page", "o", "next", "start", "end", "status", "e", "_popup"]
# Fields tried on a page that shows no form (POST-only views: Generate OTP, cancel, ...).
BLIND_FIELDS = {"code": ("text", ""), "reason": ("text", ""), "next": ("text", "")}


def actors(name):
    if name.startswith("admin:") or name == "accounts:staff-otp-enrol":
        return ("staff",)
    first = "anonymous" if name in ANONYMOUS else "corporate" if name in CORPORATE else "customer"
    return (first, *ALSO.get(name, ()))


def fuzz_table():
    """(URL name, its parameter names) for every named URL, and the admin's login page."""
    rows = {name: params for name, params, _route in walk() if name and name not in EXCLUDED}
    return sorted(rows.items())


def test_every_url_is_fuzzed():
    fuzzed = {name for name, _params in fuzz_table()}
    assert set(url_names()) == fuzzed | set(EXCLUDED)
    assert len(fuzzed) > 150
    # The table's own sets name only URLs that exist.
    assert ANONYMOUS | CORPORATE | set(ALSO) | set(GOOD) <= fuzzed


# What the fuzzer must find on a few pages by reading them: if the reading breaks, the fuzz
# would quietly send nothing but the blind fields.
SEEN_FIELDS = {
    ("anonymous", "accounts:login"): ({"username", "password"}, set()),
    ("anonymous", "accounts:password-reset"): ({"user_id", "birth_date", "account_number"}, set()),
    ("customer", "payments:transfer-create"): ({"source", "amount", "destination_number"}, set()),
    ("customer", "tokens:token-activate"): ({"birth_date", "serial", "code"}, set()),
    ("customer", "payments:transfer-confirm"): ({"code"}, set()),
    ("customer", "payments:statement"): (set(), {"start", "end"}),
    ("corporate", "corporate:request-create-contact"): ({"document", "phone", "email"}, set()),
    ("staff", "admin:accounts_user_changelist"): (set(), {"q"}),
}


def test_the_fuzzer_reads_the_fields_of_the_pages(world):
    for (actor, name), (post_names, get_names) in SEEN_FIELDS.items():
        params = dict(fuzz_table())[name]
        url = world.url(name, params)
        response = world.clients[actor].get(url)
        post, get = page_fields(response, urlsplit(url).path)
        assert post_names <= set(post), (name, sorted(post))
        assert get_names <= set(get), (name, sorted(get))


@pytest.fixture
def world(db, settings):
    settings.DEBUG = False
    # Sessions in the database, so rolling back an example's savepoint also restores them.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.OTP_RESEND_COOLDOWN = 0
    cache.clear()
    return World()


def hostile_form(data, fields, good):
    form = {}
    for field, (kind, value) in fields.items():
        value = good.get(field, value)
        choice = data.draw(st.sampled_from(["good", "hostile", "hostile", "missing"]), label=field)
        if choice == "missing":
            continue
        if kind == "file":
            if choice == "good":
                form[field] = SimpleUploadedFile("formulir.pdf", b"%PDF-1.4\n%%EOF\n")
            else:
                form[field] = SimpleUploadedFile(
                    data.draw(file_names, label=f"{field} name"),
                    data.draw(st.binary(max_size=2048), label=f"{field} bytes"),
                    content_type=data.draw(
                        st.sampled_from(["application/pdf", "image/png", "text/html", ""])
                    ),
                )
        else:
            form[field] = value if choice == "good" else data.draw(hostile_value, label=field)
    return form


def fuzz(world, name, params, actor):
    """Fuzz one URL as one actor, inside a savepoint rolled back at the end."""
    client = world.clients[actor]
    saved = cookies_of(client)
    savepoint = transaction.savepoint()
    try:
        world.prepare(name, client)
        fuzz_prepared(world, name, params, actor, client)
    finally:
        transaction.savepoint_rollback(savepoint)
        connection.needs_rollback = False
        cookies_restore(client, saved)


def fuzz_prepared(world, name, params, actor, client):
    kwargs = world.kwargs(name, params)
    url = world.url(name, params)
    first = client.get(url)
    assert first.status_code < 500, (url, first.status_code)
    post_fields, get_fields = page_fields(first, urlsplit(url).path)
    post_fields = post_fields or dict(BLIND_FIELDS)
    good = GOOD.get(name, {})
    for field, value in good.items():
        post_fields.setdefault(field, ("text", value))
    query_names = sorted(set(get_fields) | set(COMMON_QUERY))
    saved = cookies_of(client)

    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def example(data):
        savepoint = transaction.savepoint()
        try:
            target = url
            if params and data.draw(st.booleans(), label="hostile path"):
                param = data.draw(st.sampled_from(params))
                target = path_with(url, kwargs[param], data.draw(hostile_segment, label=param))
            query = {
                key: data.draw(hostile_value, label=f"?{key}")
                for key in query_names
                if data.draw(st.booleans())
            }
            form = hostile_form(data, post_fields, good)
            answers = [
                ("GET", client.get(target, query)),
                ("POST", client.post(f"{target}?{urlencode(query, doseq=True)}", form)),
            ]
            for method, response in answers:
                if response.status_code >= 500:
                    exc = getattr(response, "exc_info", None)
                    trace = "".join(traceback.format_exception(*exc)) if exc else ""
                    raise AssertionError(
                        f"{response.status_code} for {actor} {method} {target} query={query!r} "
                        f"form={form!r}\n{trace}"
                    )
        finally:
            transaction.savepoint_rollback(savepoint)
            connection.needs_rollback = False
            cookies_restore(client, saved)
            cache.clear()

    example()


def group_of(name):
    """The tests are grouped (one World for many URLs): by app, the admin's by model's app."""
    namespace, _, rest = name.partition(":")
    if namespace == "admin":
        app = rest.split("_")[0]
        return f"admin-{app if app in ADMIN_APPS else 'site'}"
    return namespace


ADMIN_APPS = {"accounts", "auth", "axes", "corporate", "payments", "tokens"}
GROUPS = sorted({group_of(name) for name, _params in fuzz_table()})


@pytest.mark.parametrize("group", GROUPS)
def test_no_500_for_hostile_input(world, group):
    rows = [(name, params) for name, params in fuzz_table() if group_of(name) == group]
    assert rows
    for name, params in rows:
        for actor in actors(name):
            fuzz(world, name, params, actor)


def test_the_admin_login_page_takes_hostile_input(world):
    # The admin's login is an unnamed pattern (portal/urls.py): fuzzed by hand here.
    client = world.clients["anonymous"]
    saved = cookies_of(client)

    @settings(max_examples=EXAMPLES * 3, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def example(data):
        savepoint = transaction.savepoint()
        try:
            form = hostile_form(
                data,
                {"username": ("text", "staf-semua"), "password": ("password", PASSWORD),
                 "otp_token": ("text", "")},
                {},
            )
            response = client.post("/admin/login/?next=/admin/", form)
            assert response.status_code < 500, (form, response.status_code)
        finally:
            transaction.savepoint_rollback(savepoint)
            connection.needs_rollback = False
            cookies_restore(client, saved)
            cache.clear()

    example()

