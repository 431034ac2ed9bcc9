"""Benchmark of confirmation throughput: whole transfers by N concurrent customers.

    python -m bench.confirm                      # SQLite + filesystem broker, in a temp dir
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
    BENCH_BROKER_URL=redis://127.0.0.1:6379/7 BENCH_CACHE_URL=redis://127.0.0.1:6379/8 \\
    python -m bench.confirm

Everything runs on 127.0.0.1 and is stopped at the end: a fake Twilio (``tests.fakes.twilio``,
answering at once) in this process, a real gunicorn (2 workers) and a real ``celery worker``.
The load generator is this process: one thread per customer, each with its own
``requests.Session`` (one browser), logged in once through ``/login/``. Each customer does
whole transfers one after the other, as a browser does them:

1. ``GET /transfers/new/`` (the form), 2. ``POST /transfers/new/`` (→ the confirm page),
3. ``GET /transfers/<ref>/confirm/`` (the page with "Generate OTP"),
4. ``POST /transfers/<ref>/otp/`` ("Generate OTP"; the Celery worker sends the SMS),
   then the code is read from the SMS the fake Twilio received,
5. ``POST /transfers/<ref>/confirm/`` with the code (→ the receipt),
6. ``GET /transfers/<ref>/`` (the receipt).

At N = 1, 8 and 32 customers (``--levels``), each level runs for ``--seconds`` after a warm-up:
transfers confirmed per second, p50/p99 of the confirm POST (step 5) and of the whole
transfer, and the CPU per transfer of gunicorn, the worker, the bench client and the rest
(PostgreSQL, Redis, kernel), read from /proc. Queries per request of each step are counted
once, in a child process, with Django's test client against the same database
(``CaptureQueriesContext``). At the end every transfer is checked: each account's balance
equals its opening balance plus the sum of its ledger entries, every completed transfer has
exactly two legs that sum to zero, the number of completed transfers equals the number the
clients saw confirmed, and no (customer, amount) pair was paid twice.

Helpers (processes, PostgreSQL, CPU meter, login) come from ``bench.otp_generate``. The results
are printed and written into README.md between ``<!-- bench-confirm:start -->`` and
``<!-- bench-confirm:end -->``.
"""

import argparse
import json
import os
import queue
import re
import secrets
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.common import ms  # noqa: E402

README = ROOT / "README.md"
MARK_START, MARK_END = "<!-- bench-confirm:start -->", "<!-- bench-confirm:end -->"
TARGET_RATE, TARGET_P99 = 60.0, 0.150  # whole transfers/s at 8 customers, confirm POST p99
OPENING_BALANCE = "1000000000.00"
STEPS = ("form GET", "form POST", "confirm GET", "Generate OTP", "confirm POST", "receipt GET")
CODE_RE = re.compile(r"\b(\d{6})\b")
AMOUNT_RE = re.compile(r"Rp ([0-9.]+)")
CONFIRM_RE = re.compile(r"^/transfers/([A-Z0-9]+)/confirm/$")
SMS_TIMEOUT = 30.0


def log(message: str) -> None:
    common.log(message, "bench-confirm")


# --- the customers' phones: SMS the fake Twilio received, by number -----------------------


class Phones:
    """Hands each SMS the fake Twilio receives to the customer whose phone it was sent to."""

    def __init__(self, fake):
        self.fake = fake
        self.inbox: dict[str, queue.Queue] = {}
        self.seen = len(fake.requests)
        self.stray = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def add(self, phone: str) -> None:
        self.inbox.setdefault(phone, queue.Queue())

    def start(self) -> "Phones":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            received = self.fake.requests
            while self.seen < len(received):
                item = received[self.seen]
                self.seen += 1
                box = self.inbox.get(item.form.get("To", ""))
                if box is None:
                    self.stray += 1
                else:
                    box.put(item.form.get("Body", ""))
            time.sleep(0.002)

    def code_for(self, phone: str, amount: int) -> str:
        """The code of the SMS naming this amount (an older one left over is skipped)."""
        deadline = time.monotonic() + SMS_TIMEOUT
        while True:
            body = self.inbox[phone].get(timeout=max(0.01, deadline - time.monotonic()))
            match = AMOUNT_RE.search(body)
            if match and int(match.group(1).replace(".", "")) == amount:
                return CODE_RE.search(body.split(":", 1)[1]).group(1)


# --- one customer's transfers -------------------------------------------------------------


@dataclass
class Lane:
    customer: object  # bench.otp_generate.Customer
    amounts: object  # an iterator of this lane's own amounts
    done: list = field(default_factory=list)  # (started, confirmed at, confirm POST s, amount)
    steps: dict = field(default_factory=lambda: {s: [] for s in STEPS})
    problems: list = field(default_factory=list)
    confirmed: int = 0  # every confirmed transfer, warm-up included


def whole_transfer(base: str, destination: str, phones: Phones, lane: Lane) -> None:
    from bench.otp_generate import HTTP_TIMEOUT, _post

    session = lane.customer.session
    amount = next(lane.amounts)
    started = time.perf_counter()
    times = {}

    def timed(step, call):
        t = time.perf_counter()
        answer = call()
        times[step] = time.perf_counter() - t
        return answer

    def expect(answer, status, what):
        if answer.status_code != status:
            raise RuntimeError(f"{what}: HTTP {answer.status_code} {answer.text[:200]!r}")
        if status == 302 and "messages" in answer.cookies:
            raise RuntimeError(f"{what}: answered with an error message")

    page = timed("form GET", lambda: session.get(f"{base}/transfers/new/", timeout=HTTP_TIMEOUT))
    expect(page, 200, "form GET")
    answer = timed(
        "form POST",
        lambda: _post(
            session,
            f"{base}/transfers/new/",
            {
                "source": str(lane.customer.account),
                "destination": "other",
                "destination_number": destination,
                "amount": str(amount),
                "description": "bench",
            },
        ),
    )
    expect(answer, 302, "form POST")
    match = CONFIRM_RE.match(answer.headers.get("Location", ""))
    if not match:
        raise RuntimeError(f"form POST went to {answer.headers.get('Location')!r}")
    confirm_url = f"{base}{match.group(0)}"
    reference = match.group(1)
    page = timed("confirm GET", lambda: session.get(confirm_url, timeout=HTTP_TIMEOUT))
    expect(page, 200, "confirm GET")
    answer = timed("Generate OTP", lambda: _post(session, f"{base}/transfers/{reference}/otp/", {}))
    expect(answer, 302, "Generate OTP")
    code = phones.code_for(lane.customer.phone, amount)
    t = time.perf_counter()
    answer = _post(session, confirm_url, {"code": code})
    confirm_seconds = time.perf_counter() - t
    times["confirm POST"] = confirm_seconds
    expect(answer, 302, "confirm POST")
    if answer.headers.get("Location") != f"/transfers/{reference}/":
        raise RuntimeError(f"confirm POST went to {answer.headers.get('Location')!r}")
    page = timed(
        "receipt GET", lambda: session.get(f"{base}/transfers/{reference}/", timeout=HTTP_TIMEOUT)
    )
    expect(page, 200, "receipt GET")
    lane.confirmed += 1
    lane.done.append((started, time.perf_counter(), confirm_seconds, amount))
    for step, seconds in times.items():
        lane.steps[step].append(seconds)


def drive(base, destination, phones, lanes, until: float, stop: threading.Event) -> None:
    def loop(lane):
        while time.perf_counter() < until and not stop.is_set():
            try:
                whole_transfer(base, destination, phones, lane)
            except Exception as exc:  # noqa: BLE001 (reported; the bench fails)
                lane.problems.append(f"{lane.customer.user_id}: {exc}")
                stop.set()

    threads = [threading.Thread(target=loop, args=(lane,)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# --- a level: N customers for a while -----------------------------------------------------


@dataclass
class LevelResult:
    customers: int
    transfers: int
    seconds: float
    rate: float
    confirm: dict
    whole: dict
    steps: dict
    cpu: dict
    problems: list
    confirmed: int


def run_level(n, *, base, destination, phones, customers, amounts, seconds, warmup, meter):
    from bench.otp_generate import CpuMeter, stats

    lanes = [Lane(c, amounts[c.user_id]) for c in customers[:n]]
    stop = threading.Event()
    log(f"{n} customers: warm-up {warmup:g} s")
    drive(base, destination, phones, lanes, time.perf_counter() + warmup, stop)
    for lane in lanes:
        lane.done.clear()
        lane.steps = {s: [] for s in STEPS}
    log(f"{n} customers: timing {seconds:g} s of whole transfers")
    before = meter.snapshot()
    t0 = time.perf_counter()
    drive(base, destination, phones, lanes, t0 + seconds, stop)
    wall = time.perf_counter() - t0
    done = [d for lane in lanes for d in lane.done]
    cpu = CpuMeter.delta(before, meter.snapshot(), max(1, len(done)))
    steps = {s: stats([v for lane in lanes for v in lane.steps[s]]) for s in STEPS}
    result = LevelResult(
        customers=n,
        transfers=len(done),
        seconds=wall,
        rate=len(done) / wall,
        confirm=stats([d[2] for d in done]),
        whole=stats([d[1] - d[0] for d in done]),
        steps=steps,
        cpu=cpu,
        problems=[p for lane in lanes for p in lane.problems],
        confirmed=sum(lane.confirmed for lane in lanes),
    )
    log(
        f"{n} customers: {result.transfers} transfers in {wall:.1f} s = {result.rate:.1f}/s, "
        f"confirm POST p50 {ms(result.confirm.get('p50', 0))} p99 {ms(result.confirm.get('p99', 0))}"
    )
    return result


# --- inside Django (a child process with the bench's env) ---------------------------------


def side_queries(user_id: str, password: str, account: int, destination: str) -> dict:
    """Queries of each step of a whole transfer, through Django's test client."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from tokens.models import OutboxMessage

    setup_test_environment()  # the test client needs it (it also turns DEBUG off)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    answer = client.post("/login/", {"username": user_id, "password": password})
    assert answer.status_code == 302, answer.status_code
    counts = {}

    def step(name, call):
        with CaptureQueriesContext(connection) as captured:
            answer = call()
        counts[name] = len(captured)
        return answer

    def transfer(amount):
        step("form GET", lambda: client.get("/transfers/new/"))
        answer = step(
            "form POST",
            lambda: client.post(
                "/transfers/new/",
                {
                    "source": str(account),
                    "destination": "other",
                    "destination_number": destination,
                    "amount": str(amount),
                    "description": "queries",
                },
            ),
        )
        confirm_url = answer["Location"]
        reference = CONFIRM_RE.match(confirm_url).group(1)
        step("confirm GET", lambda: client.get(confirm_url))
        step("Generate OTP", lambda: client.post(f"/transfers/{reference}/otp/"))
        body = OutboxMessage.objects.filter(to=OutboxMessage.objects.first().to).first().body
        code = CODE_RE.search(body.split(":", 1)[1]).group(1)
        answer = step("confirm POST", lambda: client.post(confirm_url, {"code": code}))
        assert answer.status_code == 302 and answer["Location"] == f"/transfers/{reference}/"
        step("receipt GET", lambda: client.get(f"/transfers/{reference}/"))

    # The first transfer of a fresh customer also creates its OTP device and records its first
    # look-up of the day; counted: the second, as a customer going on.
    transfer(12345)
    counts.clear()
    transfer(12346)
    return counts


def side_check(confirmed: int, opening: dict) -> dict:
    """Every transfer correct: balances equal opening + ledger sums, two legs each, no
    duplicates, as many completed as the clients saw confirmed."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from decimal import Decimal

    from django.db.models import Count, Sum

    from payments.models import BankAccount, LedgerEntry, Transfer

    problems = []
    sums = dict(
        LedgerEntry.objects.values("account").annotate(s=Sum("amount")).values_list("account", "s")
    )
    accounts = 0
    for account in BankAccount.objects.all():
        accounts += 1
        expected = Decimal(opening.get(account.number, OPENING_BALANCE)) + (
            sums.get(account.pk) or 0
        )
        if account.balance != expected:
            problems.append(f"account {account.number}: balance {account.balance} != {expected}")
    completed = Transfer.objects.filter(status=Transfer.Status.COMPLETED)
    bad_legs = (
        completed.annotate(n=Count("entries"), s=Sum("entries__amount")).exclude(n=2, s=0).count()
    )
    if bad_legs:
        problems.append(f"{bad_legs} completed transfers without two legs summing to zero")
    stray = LedgerEntry.objects.exclude(transfer__status=Transfer.Status.COMPLETED).count()
    if stray:
        problems.append(f"{stray} ledger entries of transfers not completed")
    duplicates = (
        completed.values("source", "amount").annotate(n=Count("pk")).filter(n__gt=1).count()
    )
    if duplicates:
        problems.append(f"{duplicates} (account, amount) pairs paid more than once")
    n_completed = completed.count()
    if n_completed != confirmed:
        problems.append(f"{n_completed} transfers completed, the clients saw {confirmed}")
    return {"completed": n_completed, "accounts": accounts, "problems": problems}


# --- report -------------------------------------------------------------------------------


def print_results(results: list[LevelResult], queries: dict) -> None:
    print(
        "\nqueries per request (a customer's second transfer): "
        + ", ".join(f"{k} {v}" for k, v in queries.items())
    )
    for r in results:
        per = r.cpu["per_request_ms"]
        print(
            f"\n== {r.customers} customers: {r.transfers} whole transfers in {r.seconds:.1f} s "
            f"= {r.rate:.1f}/s; confirm POST p50 {ms(r.confirm['p50'])} p99 "
            f"{ms(r.confirm['p99'])}; whole transfer p50 {ms(r.whole['p50'])} p99 "
            f"{ms(r.whole['p99'])}"
        )
        print(
            "   steps p50/p99: "
            + "; ".join(f"{s} {ms(v['p50'])}/{ms(v['p99'])}" for s, v in r.steps.items() if v)
        )
        print(
            "   CPU per whole transfer (ms): "
            + ", ".join(f"{k} {v:.1f}" for k, v in per.items())
            + f"; machine {r.cpu['machine_busy']:.0%} busy ({r.cpu['cpus']} CPUs)"
        )


def verdict(results: list[LevelResult]) -> str:
    by_n = {r.customers: r for r in results}
    parts = []
    if 8 in by_n:
        r = by_n[8]
        met = r.rate >= TARGET_RATE and r.confirm["p99"] < TARGET_P99
        parts.append(
            f"at 8 customers {r.rate:.1f} transfers/s with confirm p99 {ms(r.confirm['p99'])} "
            f"({'meets' if met else 'misses'} ≥ {TARGET_RATE:.0f}/s, p99 < "
            f"{TARGET_P99 * 1000:.0f} ms)"
        )
        if 32 in by_n:
            ok = by_n[32].rate >= r.rate
            parts.append(
                f"at 32 {by_n[32].rate:.1f}/s ({'not lower' if ok else 'lower'} than at 8)"
            )
    return "; ".join(parts)


def readme_update(setup_key, machine, results, queries, check, text) -> None:
    content = README.read_text()
    if MARK_START not in content or MARK_END not in content:
        raise RuntimeError("README.md has no bench-confirm markers")
    head, rest = content.split(MARK_START, 1)
    old, tail = rest.split(MARK_END, 1)
    kept = [
        line
        for line in old.splitlines()
        if line.startswith("| 20") and f"| {setup_key} |" not in line
    ]
    date = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    rows = []
    for r in results:
        per = r.cpu["per_request_ms"]
        rows.append(
            f"| {date} | {machine} | {setup_key} | {r.customers} | {r.transfers} in "
            f"{r.seconds:.0f} s | **{r.rate:.1f}** | {ms(r.confirm['p50'])} | "
            f"**{ms(r.confirm['p99'])}** | {ms(r.whole['p50'])} / {ms(r.whole['p99'])} | "
            f"{per.get('gunicorn', 0):.1f} / {per.get('celery worker', 0):.1f} / "
            f"{per.get('other (database, broker, kernel…)', 0):.1f} | {r.cpu['machine_busy']:.0%} |"
        )
    section = "\n".join(
        [
            "",
            "**Confirmation throughput** (`python -m bench.confirm`). Each customer (one client "
            "thread, one browser session) does whole transfers one after the other: "
            + ", ".join(STEPS)
            + " (the code read from the SMS the fake Twilio received, sent by a real Celery "
            "worker), through gunicorn (2 workers × 4 threads, DEBUG off) on 127.0.0.1. "
            "Queries per request (a customer's second transfer): "
            + ", ".join(f"{k} {v}" for k, v in queries.items())
            + f". After the runs: {check['completed']} completed transfers checked, balances "
            "equal opening + ledger sums, two legs each, no duplicates. **Target: ≥ 60 "
            "transfers/s at 8 customers with confirm p99 < 150 ms, no lower at 32.**",
            "",
            "| Date | Machine | Database, broker, cache | Customers | Transfers | Transfers/s "
            "| confirm POST p50 | confirm POST p99 | whole transfer p50 / p99 "
            "| CPU ms per transfer: gunicorn / worker / database+broker+kernel | machine busy |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            *sorted(kept),
            *rows,
            "",
            f"Last run ({date}, {setup_key}): {text}.",
            "",
        ]
    )
    README.write_text(head + MARK_START + section + MARK_END + tail)


# --- main ---------------------------------------------------------------------------------


def _side_main(argv) -> int:
    kind, payload = argv[0], json.loads(argv[1])
    result = side_queries(**payload) if kind == "queries" else side_check(**payload)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_side"]:
        return _side_main(argv[1:])

    from bench.otp_generate import (
        CpuMeter,
        Customer,
        gunicorn_start,
        login,
        pg_drop,
        pg_recreate,
        run_checked,
        worker_start,
    )
    from tests.fakes.twilio import FakeTwilio, Reply

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,8,32", help="concurrent customers, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds per level")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per level")
    parser.add_argument("--no-readme", action="store_true", help="print only")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, SQLite)")
    args = parser.parse_args(argv)
    levels = [int(n) for n in args.levels.split(",")]
    if not levels or min(levels) < 1 or max(levels) > 200:
        parser.error("levels between 1 and 200")

    database_url = os.environ.get("BENCH_DATABASE_URL", "")
    broker_url = os.environ.get("BENCH_BROKER_URL", "")
    cache_url = common.cache_url(broker_url)
    for url in (database_url, broker_url, cache_url):
        host = urlsplit(url).hostname
        if url and host not in {"127.0.0.1", "localhost", "::1"}:
            raise SystemExit(f"the bench talks to 127.0.0.1 only, not {host!r}")

    tmp = tempfile.mkdtemp(prefix="portal-bench-confirm-")
    tmp_path = Path(tmp)
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    log(f"state and logs in {tmp}")
    password = "Bench-" + secrets.token_urlsafe(12)
    fake = FakeTwilio(default=Reply()).start()
    pg_created = finished = False
    try:
        if database_url.startswith(("postgres://", "postgresql://")):
            pg_recreate(database_url)
            pg_created = True
        env = common.portal_env(
            tmp_path,
            database_url=database_url,
            broker_url=broker_url,
            password=password,
            TWILIO_API_BASE_URL=fake.base_url,
            SESSION_ABSOLUTE_TIMEOUT=str(24 * 3600),
            **common.SMS_ENV,
        )
        n_customers = max(levels) + 1  # the last one's transfers are the query count's
        made = common.portal_setup(env, log_dir, n_customers, "bench-confirm")
        customers = [Customer(c["user_id"], c["account"], c["phone"]) for c in made["customers"]]
        counting, customers = customers[-1], customers[:-1]
        opening = {made["destination"]: "0"}
        # Each of a customer's transfers has its own amount (Rp 10.001, 10.002 …), so an SMS
        # names one transfer and a duplicate payment shows as a repeated amount.
        amounts = {c.user_id: iter(range(10_001, 10**9)) for c in customers}
        phones = Phones(fake)
        for c in customers:
            phones.add(c.phone)

        results = []
        with ExitStack() as stack:
            worker = worker_start(env, log_dir)
            stack.callback(worker.stop)
            web, base = gunicorn_start(env, log_dir, "gunicorn")
            stack.callback(web.stop)
            phones.start()
            stack.callback(phones.stop)
            meter = CpuMeter({"gunicorn": web, "celery worker": worker})
            log(f"{len(customers)} customers log in (each once)")
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda c: login(base, c, password), customers))
            for n in levels:
                result = run_level(
                    n,
                    base=base,
                    destination=made["destination"],
                    phones=phones,
                    customers=customers,
                    amounts=amounts,
                    seconds=args.seconds,
                    warmup=args.warmup,
                    meter=meter,
                )
                results.append(result)
                web.check_alive()
                worker.check_alive()
                if result.problems:
                    break

        # Counted after the load, with the worker stopped: the child sends the SMS itself
        # (eager, outbox backend), so every query of each step is its own.
        log("counting the queries of each step")
        side_env = {**env, "CELERY_TASK_ALWAYS_EAGER": "True", "SMS_BACKEND": "outbox"}
        queries = json.loads(
            run_checked(
                [
                    sys.executable,
                    "-m",
                    "bench.confirm",
                    "_side",
                    "queries",
                    json.dumps(
                        {
                            "user_id": counting.user_id,
                            "password": password,
                            "account": counting.account,
                            "destination": made["destination"],
                        }
                    ),
                ],
                side_env,
                log_dir / "queries.log",
            )
            .strip()
            .splitlines()[-1]
        )
        # The clients' count includes the warm-ups, and the query count made two more.
        confirmed = sum(r.confirmed for r in results) + 2
        log("checking every transfer")
        check = json.loads(
            run_checked(
                [
                    sys.executable,
                    "-m",
                    "bench.confirm",
                    "_side",
                    "check",
                    json.dumps({"confirmed": confirmed, "opening": opening}),
                ],
                env,
                log_dir / "check.log",
            )
            .strip()
            .splitlines()[-1]
        )
        print_results(results, queries)
        problems = [p for r in results for p in r.problems]
        problems += check["problems"]
        if phones.stray:
            problems.append(f"{phones.stray} SMS to numbers of no bench customer")
        text = verdict(results)
        print(f"\ncheck: {check['completed']} completed transfers, {check['accounts']} accounts")
        print(f"reading: {text}")
        if problems:
            print("\nchecks FAILED, README not updated:\n  " + "\n  ".join(problems))
            return 1
        if not args.no_readme:
            broker = (broker_url or "filesystem://").split(":", 1)[0]
            cache = "redis cache" if cache_url else "local-memory cache"
            setup_key = f"{made['database']}, {broker}, {cache}"
            machine = common.machine()
            readme_update(setup_key, machine, results, queries, check, text)
            log("README.md bench-confirm section updated")
        finished = True
        return 0
    finally:
        fake.stop()
        if pg_created:
            with suppress(Exception):
                pg_drop(database_url)
        if args.keep or not finished:
            log(f"kept {tmp} (logs)")
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
