"""The client's address behind trusted reverse proxies (``TRUSTED_PROXIES``): audit records and
login throttling (django-axes) store the customer's address, never the proxy's, and a client
cannot choose its address by sending its own X-Forwarded-For."""

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory

from accounts.models import AuditEvent
from accounts.views import client_ip

PROXIES = ["10.0.0.0/8", "192.0.2.10"]


def request_from(remote_addr, forwarded_for=None):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("remote_addr", "forwarded_for", "expected"),
    [
        pytest.param("10.0.0.5", "198.51.100.7", "198.51.100.7", id="one-proxy"),
        pytest.param("10.0.0.5", "198.51.100.7, 10.1.2.3", "198.51.100.7", id="two-proxies"),
        # The client sent "203.0.113.66" itself; the proxy appended the address it saw.
        pytest.param("10.0.0.5", "203.0.113.66, 198.51.100.7", "198.51.100.7", id="spoofed-left"),
        pytest.param("192.0.2.10", "2001:db8::7", "2001:db8::7", id="ipv6-client"),
        # Not from a trusted proxy: the header is the client's own words, ignored.
        pytest.param("198.51.100.7", "203.0.113.66", "198.51.100.7", id="untrusted-sender"),
        pytest.param("10.0.0.5", None, "10.0.0.5", id="proxy-without-header"),
        pytest.param("10.0.0.5", "", "10.0.0.5", id="empty-header"),
        # Garbage where an address should be: stop at the last hop we can trust.
        pytest.param("10.0.0.5", "198.51.100.7, not-an-ip", "10.0.0.5", id="garbage-right"),
        pytest.param("10.0.0.5", "not-an-ip, 198.51.100.7", "198.51.100.7", id="garbage-left"),
        pytest.param("10.0.0.5", "10.9.9.9, 10.1.2.3", "10.9.9.9", id="all-trusted"),
    ],
)
def test_client_ip_behind_trusted_proxies(settings, remote_addr, forwarded_for, expected):
    settings.TRUSTED_PROXIES = PROXIES
    assert client_ip(request_from(remote_addr, forwarded_for)) == expected


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request_from("10.0.0.5", "198.51.100.7")) == "10.0.0.5"


def test_login_audit_and_axes_store_the_client_address(client, customer, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    client.post(
        "/login/",
        {"username": "budi", "password": "salah-sekali"},
        HTTP_X_FORWARDED_FOR="203.0.113.66, 198.51.100.7",
    )
    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_FAILED)
    assert event.ip_address == "198.51.100.7"
    assert AccessAttempt.objects.get(username="budi").ip_address == "198.51.100.7"
