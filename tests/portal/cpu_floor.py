"""The CPU floor of one request (issue 13, items 1 and 3; not collected by CI: python_files is
test_*.py). Run it by name, with DATABASE_URL/CACHE_URL as in CI:

    pytest tests/portal/cpu_floor.py -q -s -p no:cacheprovider

A logged-in customer GETs views that do nothing, through the portal's whole middleware stack
(session, user, django-otp device, CSRF, locale, security headers, CSP, axes) with the test
client, so gunicorn's HTTP parsing and the network are left out: what is printed is a floor no
page of the portal can go under without changing the stack. ``empty`` answers a plain
HttpResponse; ``template`` renders the portal's base template with nothing in it. Beside it, the
same work for a whole transfer (``tests/payments/cpu_steps.py``) shows how much is the portal's
own. Five requests of a transfer are pages; Generate OTP is the sixth.
"""

import time

import pytest
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import include, path

pytestmark = pytest.mark.django_db
N = 500


def empty(request):
    return HttpResponse("ok")


def template(request):
    return render(request, "base.html", {})


urlpatterns = [
    path("floor/empty/", empty),
    path("floor/template/", template),
    path("", include("portal.urls")),
]


def test_floor(customer_client, settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__
    results = {}
    for name in ("empty", "template"):
        url = f"/floor/{name}/"
        for _ in range(20):  # warm-up
            assert customer_client.get(url).status_code == 200
        started = time.process_time()
        for _ in range(N):
            customer_client.get(url)
        results[name] = (time.process_time() - started) * 1000 / N
    speed = __import__("bench.speed", fromlist=["reading"]).reading()
    print()
    for name, cpu in results.items():
        print(f"{name:10s} {cpu:6.2f} ms CPU per request")
    print(f"speed      {speed:6.2f} s (bench/speed.py)")
