"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's
``live_server``. One browser per test package, a fresh context (cookies, storage) per test.

Never ``playwright install``: the browser is ``/usr/bin/chromium``.
"""

import os
import re
import shutil
import time

import pytest

from tests.conftest import ROOT, needs_chromium

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = ROOT / "var" / "screenshots"
CODE_RE = re.compile(r"\b(\d{6})\b")


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for the package; stopped when the package's tests are done.

    Playwright's sync API keeps an asyncio loop marked as running in this thread while it is
    started, which Django's ORM takes for an async context; the tests' own ORM calls are
    plain synchronous code, so that check is relaxed for exactly as long as the browser runs.
    """
    if needs_chromium.args[0]:  # the same condition as the marker, for fixture users
        pytest.skip(needs_chromium.kwargs["reason"])
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser):
    """Open a page in a fresh browser context (its own cookies: another browser, as far as the
    portal can tell). Desktop width and ``Accept-Language: en-US`` unless told otherwise.
    JavaScript errors and CSP violations on any page fail the test; all contexts are closed
    after it."""
    contexts, errors = [], []

    def make(**context_kwargs):
        context_kwargs.setdefault("viewport", DESKTOP)
        context_kwargs.setdefault("locale", "en-US")
        context = browser.new_context(**context_kwargs)
        context.set_default_timeout(10_000)
        context.on("page", lambda p: _errors_collect(p, errors))
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript or CSP errors in the browser: {errors}"


def _errors_collect(page, errors):
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None,
    )


@pytest.fixture
def page(new_page):
    """A page in a fresh browser context at desktop width, whose browser prefers English
    (``Accept-Language: en-US``), as most browsers on Indonesian desks do."""
    return new_page()


def shoot(page, name, *, phone=False):
    """Save a full-page PNG of what the page shows into var/screenshots/ at desktop width,
    and with ``phone=True`` at phone width (390×844) too."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
    if phone:
        size = page.viewport_size
        page.set_viewport_size(PHONE)
        try:
            page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
        finally:
            page.set_viewport_size(size)


def login(page, base_url, user_id, password):
    """Fill in the login page and submit it (the caller checks where it landed)."""
    page.goto(f"{base_url}/login/")
    page.locator("#id_username").fill(user_id)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def outbox_code_read(page, outbox_url, *, timeout=20.0, skip=()):
    """Read the newest 6-digit code on the development outbox page, reloading until the
    Celery worker has written an SMS (that is not one of ``skip``)."""
    deadline = time.monotonic() + timeout
    page.goto(outbox_url)
    while True:
        bodies = page.locator(".sms-body")
        if bodies.count():
            match = CODE_RE.search(bodies.first.inner_text())
            if match and match.group(1) not in skip:
                return match.group(1)
        if time.monotonic() > deadline:
            raise AssertionError("no SMS with a code reached the outbox in time")
        page.wait_for_timeout(250)
        page.reload()
