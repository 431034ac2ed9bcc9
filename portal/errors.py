"""The portal's own error pages (400, 403, 404, 500, 503 and a failed CSRF check), in its look
and in the customer's language, each with the call-centre number and a way back. Django's plain
or technical pages never reach a customer (they show only with DEBUG on)."""

import sys

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import requires_csrf_token


@requires_csrf_token
def bad_request(request, exception=None):
    return render(request, "400.html", status=400)


@requires_csrf_token
def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


@requires_csrf_token
def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


# Seconds a client is asked to wait when the database cannot be reached (a restart, a fail-over).
DATABASE_UNAVAILABLE_RETRY_AFTER = 30


# SQLSTATEs of a database out of reach: shutting down (a restart), crashed, starting up. With
# class 08 (connection exception) and no SQLSTATE at all (psycopg could not connect, or lost
# the connection): nothing the portal did wrong.
_UNREACHABLE_SQLSTATES = {"57P01", "57P02", "57P03"}


def database_out_of_reach(exc) -> bool:
    """Is ``exc`` the database being out of reach (503), rather than a fault (500)?

    Only connection failures: a deadlock (40P01), a serialization failure (40001), a statement
    timeout (57014), a missing table are faults of the portal and stay 500, logged as errors
    (``django.request``), where 5xx alerting sees them."""
    if isinstance(exc, InterfaceError):  # the connection was closed under it
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if not isinstance(cause, psycopg.Error):  # e.g. SQLite's "no such table": a fault
        return False
    sqlstate = cause.sqlstate
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNREACHABLE_SQLSTATES


def server_error(request):
    """Rendered without the request and without context processors: whatever broke (the
    database, the session, a context processor) cannot break this page too.

    A database that cannot be reached (restarted, failing over: the connection refused or cut;
    see ``database_out_of_reach``) is not a bug of the portal: the customer gets 503 "try again in a moment" rather than 500.
    Django calls this handler inside its ``except`` block, so the exception is at hand. The
    connection that failed is closed when the request ends (Django's ``errors_occurred``), and
    ``CONN_HEALTH_CHECKS`` tests every kept connection before a request uses it: the next
    requests reconnect by themselves once the database is back."""
    if database_out_of_reach(sys.exc_info()[1]):
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(DATABASE_UNAVAILABLE_RETRY_AFTER)
        return response
    return HttpResponseServerError(loader.get_template("500.html").render())


def csrf_failure(request, reason=""):
    """``CSRF_FAILURE_VIEW``: a form older than the customer's login or logout (a stale tab, a
    page left open) is refused; the page says so and offers to reload the page it came from
    (the Referer when it is this site's, else the address it was posted to). Django's
    ``reason`` is for developers and is not shown."""
    referer = request.headers.get("Referer", "")
    same_site = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    context = {"reload_url": referer if referer and same_site else request.path}
    return render(request, "403_csrf.html", context, status=403)
