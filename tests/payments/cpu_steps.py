"""CPU per step of a whole transfer, in-process with the test client (issue 13; not collected
by CI: python_files is test_*.py). Run it by name, with DATABASE_URL/CACHE_URL as in CI:

    CPU_N=200 pytest tests/payments/cpu_steps.py -k test_cpu -q -s -p no:cacheprovider

CPU ms per step (time.process_time) over CPU_N transfers after 5 warm-up ones. CPU_PROFILE=1
adds cProfile's top CPU_TOP functions (CPU_SORT, CPU_PROFILE_STEP to profile one step,
CPU_CALLEES a pattern); CPU_SQL=1 prints each step's SQL (with CPU_N=1). The SMS and lookup
limits are raised for the run only (one customer does all transfers). ``test_holder_query``
compares two ways of reading a transfer for its pages (kept as the measurement that decided).
"""

import cProfile
import io
import os
import pstats
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payments import services
from payments.models import BankAccount
from tests.conftest import outbox_code

pytestmark = pytest.mark.django_db
STEPS = ("form GET", "form POST", "confirm GET", "Generate OTP", "confirm POST", "receipt GET")


def test_cpu(customer_client, other_customer, run_on_commit, settings):
    settings.DEBUG = False
    settings.OTP_SMS_USER_LIMIT = 10**6
    settings.OTP_SMS_PHONE_LIMIT = 10**6
    settings.TRANSFER_LOOKUP_DAILY_LIMIT = 10**6
    client = customer_client
    source = BankAccount.objects.get(number="1001000011").pk
    cpu = dict.fromkeys(STEPS, 0.0)
    queries = {}
    prof = cProfile.Profile() if os.environ.get("CPU_PROFILE") else None
    only = os.environ.get("CPU_PROFILE_STEP")

    def step(name, call, count):
        with CaptureQueriesContext(connection) as captured:
            if prof and (not only or only == name) and count:
                prof.enable()
            t = time.process_time()
            answer = call()
            cpu[name] += time.process_time() - t if count else 0
            if prof:
                prof.disable()
        queries[name] = len(captured)
        if os.environ.get("CPU_SQL") and count:
            print("=====", name)
            for q in captured.captured_queries:
                print("  ", q["sql"][:int(os.environ.get("CPU_SQL_W", "260"))])
        return answer

    def transfer(amount, count):
        step("form GET", lambda: client.get("/transfers/new/"), count)
        answer = step("form POST", lambda: client.post(
            "/transfers/new/",
            {"source": source, "destination": "other", "destination_number": "1002000017",
             "amount": amount, "description": "kos"}), count)
        assert answer.status_code == 302, answer.content[:2000]
        url = answer["Location"]
        ref = url.split("/")[2]
        step("confirm GET", lambda: client.get(url), count)
        answer = step("Generate OTP", lambda: run_on_commit(client.post, f"/transfers/{ref}/otp/"), count)
        assert answer.status_code == 302
        code = outbox_code()
        answer = step("confirm POST", lambda: client.post(url, {"code": code}), count)
        assert answer.status_code == 302 and answer["Location"] == f"/transfers/{ref}/", answer.content[:3000]
        step("receipt GET", lambda: client.get(f"/transfers/{ref}/"), count)

    for i in range(5):
        transfer(str(10000 + i), False)
    n = int(os.environ.get("CPU_N", "200"))
    for i in range(n):
        transfer(str(20000 + i), True)
    print()
    for name in STEPS:
        print(f"{name:14s} {cpu[name] * 1000 / n:7.2f} ms  {queries[name]} queries")
    print(f"{'total':14s} {sum(cpu.values()) * 1000 / n:7.2f} ms")
    if prof:
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats(os.environ.get("CPU_SORT", "cumulative")).print_stats(int(os.environ.get("CPU_TOP", "60")))
        if os.environ.get("CPU_CALLEES"):
            stats.print_callees(os.environ["CPU_CALLEES"])
        print(out.getvalue())
    assert BankAccount.objects.get(pk=source).balance < Decimal("15000000.00")


def test_holder_query(customer, other_customer):
    from payments.models import Transfer

    source = BankAccount.objects.get(number="1001000011")
    destination = BankAccount.objects.get(number="1002000017")
    t = services.transfer_create(user=customer, source=source, destination=destination,
                                 amount=Decimal(1000), description="x")

    def full():
        x = Transfer.objects.select_related("source", "destination__owner", "destination__company", "challenge").get(reference=t.reference, initiated_by=customer)
        return x.destination.holder_name

    def light():  # the owner's and company's other columns deferred (tried and reverted)
        deferred = [f"destination__owner__{f.name}" for f in customer._meta.concrete_fields
                    if not f.primary_key and f.name != "full_name"]
        x = (Transfer.objects.select_related("source", "destination__owner", "destination__company", "challenge")
             .defer(*deferred).get(reference=t.reference, initiated_by=customer))
        return x.destination.holder_name

    res = {"full": 0.0, "light": 0.0}
    for _ in range(5):
        for name, f in (("full", full), ("light", light)):
            c = time.process_time()
            for _ in range(400):
                f()
            res[name] += time.process_time() - c
    print({k: f"{v * 1000 / 2000:.3f} ms" for k, v in res.items()})
