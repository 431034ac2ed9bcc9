"""Benchmark of the SMS pipeline: click → provider latency and SMS per second.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_sms_bench \\
    BENCH_BROKER_URL=redis://127.0.0.1:6379/7 python -m bench.sms_pipeline

Everything runs on 127.0.0.1 and is stopped at the end: a fake Twilio (``tests.fakes.twilio``)
in this process answering each SMS after 0 ms, 200 ms or 1 s; the real ``celery worker`` as
the Procfile runs it (a thread pool, ``WORKER_CONCURRENCY`` threads, ``DB_POOL_MAX_SIZE``
database connections); click processes that each load Django and call the service behind
"Generate OTP" (``tokens.services.challenge_issue``: the challenge, its SMS row, the task
queued on commit) for bench customers, one customer per click (the per-customer SMS limits
stay out of the way). Gunicorn is left out: ``bench.otp_generate`` measures the request.

For each provider latency:

* *paced*: clicks at ``--rate`` a second (default 50) for ``--seconds`` (default 20), spread
  over the click processes (open loop: a click due is made even if the last one is slow);
  click → provider = the fake's receipt of the SMS minus the time the click started.
* *backlog*: ``--backlog`` SMS queued while no worker runs, then a worker starts: SMS per
  second from the first to the last the fake received (the worker's ceiling).

Every SMS is matched to its click by the customer's number; a missing or duplicate SMS fails
the bench. During each phase the bench samples the database's connections
(``pg_stat_activity``) and the worker's memory (RSS). The worker's CPU per SMS comes from
/proc. A PostgreSQL ``BENCH_DATABASE_URL`` must name a database with "bench" in its name: it
is dropped and created at the start and dropped at the end. The results are printed and
written into README.md between ``<!-- bench-sms:start -->`` and ``<!-- bench-sms:end -->``.
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.otp_generate import (  # noqa: E402
    Service,
    group_cpu,
    log,
    percentile,
    pg_drop,
    pg_recreate,
)
from tests.fakes.twilio import FakeTwilio, Reply  # noqa: E402

README = ROOT / "README.md"
MARK_START, MARK_END = "<!-- bench-sms:start -->", "<!-- bench-sms:end -->"
LATENCIES = (0.0, 0.2, 1.0)
TARGET_P99 = 1.5  # seconds, click → provider at 50 clicks/s with a 1 s provider
# The Procfile's worker: the send task waits on the network, so threads; a few pooled
# database connections serve them all (the task holds none while Twilio answers).
WORKER_CONCURRENCY = 100
DB_POOL_MAX_SIZE = 10
CLICK_PROCESSES = 4
USER_PREFIX = "smsbench"
WORKER_APP_PREFIX = "smsbench-worker-"


# --- inside Django (child processes) -------------------------------------------------------


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def setup(users: int) -> None:
    """Create the bench customers: one number each, no password (they never log in)."""
    _django()
    from django.contrib.auth.hashers import make_password

    from accounts.models import User

    unusable = make_password(None)
    User.objects.bulk_create(
        [
            User(
                user_id=f"{USER_PREFIX}{i:05d}",
                full_name=f"SMS Bench {i}",
                phone=f"+62813{60000000 + i}",
                password=unusable,
            )
            for i in range(users)
        ],
        batch_size=1000,
    )


def clicks(first: int, count: int, stride: int, offset: int, rate: float, t0: float, queue: str):
    """Click "Generate OTP" for customers ``first + offset``, ``+ stride`` … (``count`` in
    all across processes), the n-th at ``t0 + n / rate`` (at once with rate 0). Prints
    ``[[phone, started, late], …]``: ``late``, how long after it was due the click started
    (the machine too busy to click on time)."""
    _django()
    from django.db import connection

    from accounts.models import User
    from portal.celery import app
    from tokens import services

    app.conf.task_default_queue = queue
    numbers = list(range(first + offset, first + count, stride))
    users = {
        u.user_id: u
        for u in User.objects.filter(user_id__in=[f"{USER_PREFIX}{i:05d}" for i in numbers])
    }
    done = []
    for n in numbers:
        user = users[f"{USER_PREFIX}{n:05d}"]
        due = t0 + (n - first) / rate if rate else time.time()
        if due > time.time():
            time.sleep(due - time.time())
        started = time.time()
        services.challenge_issue(
            user=user,
            purpose="transfer",
            summary={"reference": f"SMSB{n}", "amount": "10000.00", "destination": "9000000000"},
            text="transfer %(amount)s to acct %(destination)s",
            text_params={"amount": "Rp 10.000", "destination": "****0000"},
        )
        done.append([str(user.phone), started, started - due])
    connection.close()
    sys.stdout.write(json.dumps(done) + "\n")


# --- the bench process (no Django) ----------------------------------------------------------


class Sampler:
    """Samples, every 0.1 s, the bench database's connections and the worker's RSS."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.worker_pid = None
        self.max_connections = 0
        self.max_worker_connections = 0
        self.max_rss_mb = 0.0
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self.max_connections, self.max_worker_connections, self.max_rss_mb = 0, 0, 0.0
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return {
            "db_connections_max": self.max_connections,
            "worker_db_connections_max": self.max_worker_connections,
            "worker_rss_mb": self.max_rss_mb,
        }

    def _run(self):
        conn = None
        if self.database_url.startswith(("postgres://", "postgresql://")):
            import psycopg

            parts = urlsplit(self.database_url)
            conn = psycopg.connect(
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 5432,
                user=unquote(parts.username or "postgres"),
                dbname="postgres",
                autocommit=True,
            )
            name = parts.path.lstrip("/")
        try:
            while not self._stop.wait(0.1):
                if conn is not None:
                    rows = conn.execute(
                        "SELECT application_name, count(*) FROM pg_stat_activity"
                        " WHERE datname = %s GROUP BY application_name",
                        (name,),
                    ).fetchall()
                    self.max_connections = max(self.max_connections, sum(n for _, n in rows))
                    per_worker = [n for a, n in rows if a.startswith(WORKER_APP_PREFIX)]
                    self.max_worker_connections = max(self.max_worker_connections, *per_worker, 0)
                if self.worker_pid:
                    with suppress(OSError):
                        for line in Path(f"/proc/{self.worker_pid}/status").read_text().split("\n"):
                            if line.startswith("VmRSS:"):
                                rss = int(line.split()[1]) / 1024
                                self.max_rss_mb = max(self.max_rss_mb, rss)
        finally:
            if conn is not None:
                conn.close()


def worker_start(env: dict, log_dir: Path, queue: str, name: str) -> Service:
    service = Service(
        name,
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=threads",
            f"--concurrency={WORKER_CONCURRENCY}",
            "--loglevel=INFO",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-Q",
            queue,
            "-n",
            f"smsbench-{secrets.token_hex(4)}@%h",
        ],  # fmt: skip
        {
            **env,
            "DB_POOL_MAX_SIZE": str(DB_POOL_MAX_SIZE),
            # Its connections are counted apart from the click processes' ones.
            "DATABASE_URL": f"{env['DATABASE_URL']}?application_name={WORKER_APP_PREFIX}{name}",
        },
        log_dir,
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            service.check_alive()
            if " ready." in service.tail(100_000):
                return service
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready:\n{service.tail()}")
    except BaseException:
        service.stop()  # never left running behind the bench
        raise


def click_run(env, first, count, rate, queue) -> list:
    """Start the click processes, let them click, return [(phone, started, late)]."""
    t0 = time.time() + 6  # time for each process to load Django and its customers
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.sms_pipeline",
                "_clicks",
                "--first",
                str(first),
                "--count",
                str(count),
                "--stride",
                str(CLICK_PROCESSES),
                "--offset",
                str(k),
                "--rate",
                str(rate),
                "--t0",
                str(t0),
                "--queue",
                queue,
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(CLICK_PROCESSES)
    ]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        if proc.returncode:
            raise RuntimeError(f"click process failed:\n{err[-3000:]}")
        done += json.loads(out.strip().splitlines()[-1])
    return done


def wait_received(fake: FakeTwilio, numbers: set, timeout: float) -> dict:
    """Wait until the fake received one SMS for each number; return number → receipt time."""
    deadline = time.monotonic() + timeout
    while True:
        received = {}
        duplicates = []
        for r in fake.messages():
            to = r.form.get("To")
            if to in numbers:
                if to in received:
                    duplicates.append(to)
                received.setdefault(to, r.at)
        if duplicates:
            raise RuntimeError(f"{len(duplicates)} SMS sent twice, e.g. {duplicates[0]}")
        if len(received) == len(numbers):
            return received
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(received)} of {len(numbers)} SMS reached the provider")
        time.sleep(0.2)


def phase(fake, sampler, worker, env, *, first, count, rate, queue, log_dir, name):
    """One phase: the clicks (paced, or a backlog queued with no worker and then drained)."""
    own = worker is None
    if own:  # backlog: queue everything first, then start a worker
        clicked = click_run(env, first, count, 0, queue)
        sampler.start()
        worker = worker_start(env, log_dir, queue, name)
        sampler.worker_pid = worker.process.pid
        cpu_before = group_cpu(worker.process.pid)
    else:
        sampler.start()
        cpu_before = group_cpu(worker.process.pid)
        clicked = click_run(env, first, count, rate, queue)
    try:
        received = wait_received(fake, {phone for phone, _, _ in clicked}, timeout=300)
    except BaseException:
        if own:
            worker.stop()  # the caller never got it: stop it here
        raise
    cpu = group_cpu(worker.process.pid) - cpu_before
    samples = sampler.stop()
    latencies = [received[phone] - started for phone, started, _ in clicked]
    times = sorted(received.values())
    span = times[-1] - times[0]
    return worker, {
        "sms": len(clicked),
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
        "click_late_p99": percentile([late for _, _, late in clicked], 99),
        "click_rate": (len(clicked) - 1)
        / (max(s for _, s, _ in clicked) - min(s for _, s, _ in clicked)),
        "sms_per_s": (len(times) - 1) / span if span > 0 else float("nan"),
        "worker_cpu_ms_per_sms": cpu * 1000 / len(clicked),
        **samples,
    }


def readme_update(results: dict, args, database: str, broker: str) -> None:
    when = datetime.now().strftime("%Y-%m-%d")
    lines = [
        MARK_START,
        f"Measured {when} on {common.machine()}, {database}, "
        f"{broker} broker; worker `--pool=threads --concurrency={WORKER_CONCURRENCY}` with "
        f"`DB_POOL_MAX_SIZE={DB_POOL_MAX_SIZE}`, {CLICK_PROCESSES} click processes calling "
        "`challenge_issue` (on a busy machine they click late and slower than asked: second "
        "column). Command: `python -m bench.sms_pipeline`.",
        "",
        f"| Provider latency | Clicks/s asked → made (late p99) | click → provider p50 | p99 "
        f"| SMS/s (paced) | SMS/s (backlog of {args.backlog}) | worker DB connections (max; "
        "all) | worker RSS | worker CPU/SMS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for latency, r in results.items():
        paced, backlog = r["paced"], r["backlog"]
        lines.append(
            f"| {latency * 1000:.0f} ms | {args.rate:g} → {paced['click_rate']:.1f} "
            f"({paced['click_late_p99']:.1f} s) "
            f"| {paced['p50'] * 1000:.0f} ms | {paced['p99'] * 1000:.0f} ms "
            f"| {paced['sms_per_s']:.1f} | {backlog['sms_per_s']:.1f} "
            f"| {max(paced['worker_db_connections_max'], backlog['worker_db_connections_max'])}; "
            f"{max(paced['db_connections_max'], backlog['db_connections_max'])} "
            f"| {max(paced['worker_rss_mb'], backlog['worker_rss_mb']):.0f} MB "
            f"| {paced['worker_cpu_ms_per_sms']:.1f} ms |"
        )
    lines.append(MARK_END)
    text = README.read_text()
    start, end = text.index(MARK_START), text.index(MARK_END) + len(MARK_END)
    README.write_text(text[:start] + "\n".join(lines) + text[end:])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    c = sub.add_parser("_clicks")
    for flag in ("--first", "--count", "--stride", "--offset"):
        c.add_argument(flag, type=int, required=True)
    c.add_argument("--rate", type=float, required=True)
    c.add_argument("--t0", type=float, required=True)
    c.add_argument("--queue", required=True)
    s = sub.add_parser("_setup")
    s.add_argument("--users", type=int, required=True)
    parser.add_argument("--rate", type=float, default=50.0, help="clicks per second, paced")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of a paced phase")
    parser.add_argument("--backlog", type=int, default=1000, help="SMS queued before draining")
    parser.add_argument("--warmup", type=int, default=200, help="clicks before measuring")
    parser.add_argument("--latencies", default=",".join(str(x) for x in LATENCIES))
    parser.add_argument("--no-readme", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.command == "_clicks":
        clicks(args.first, args.count, args.stride, args.offset, args.rate, args.t0, args.queue)
        return 0
    if args.command == "_setup":
        setup(args.users)
        return 0

    database_url = os.environ.get("BENCH_DATABASE_URL", "")
    broker_url = os.environ.get("BENCH_BROKER_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not broker_url.startswith(
        "redis://"
    ):
        raise SystemExit("BENCH_DATABASE_URL (PostgreSQL) and BENCH_BROKER_URL (Redis) are needed")
    for url in (database_url, broker_url):
        host = urlsplit(url).hostname
        if host not in {"127.0.0.1", "localhost", "::1"}:
            raise SystemExit(f"the bench talks to 127.0.0.1 only, not {host!r}")
    latencies = [float(x) for x in args.latencies.split(",")]
    paced_n = int(args.rate * args.seconds)
    per_latency = paced_n + args.backlog

    tmp = tempfile.mkdtemp(prefix="portal-sms-bench-")
    log_dir = Path(tmp)
    log(f"logs in {tmp}")
    queue = f"sms-bench-{secrets.token_hex(4)}"  # its own queue: nothing else's tasks
    fake = FakeTwilio().start()
    sampler = Sampler(database_url)
    workers = []
    results = {}
    pg_recreate(database_url)
    try:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE"}
        }
        env.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            PORTAL_ENV="development",
            DEBUG="False",
            PORTAL_VAR_DIR=tmp,
            DATABASE_URL=database_url,
            CELERY_BROKER_URL=broker_url,
            CELERY_TASK_ALWAYS_EAGER="False",
            SMS_BACKEND="twilio",
            TWILIO_API_BASE_URL=fake.base_url,
            SMS_STATUS_CALLBACK_URL="",
            OTP_SMS_GLOBAL_ALARM="1000000",
        )
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.sms_pipeline",
                "_setup",
                "--users",
                str(args.warmup + per_latency * len(latencies)),
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            check=True,
        )
        worker = worker_start(env, log_dir, queue, "worker-paced")
        workers.append(worker)
        sampler.worker_pid = worker.process.pid
        # Warm-up, not counted: every worker thread makes its Twilio client and connection,
        # the database pool fills.
        log(f"warm-up: {args.warmup} clicks")
        phase(
            fake, sampler, worker, env, first=0, count=args.warmup, rate=args.rate,
            queue=queue, log_dir=log_dir, name="worker-paced",
        )  # fmt: skip
        first = args.warmup
        for latency in latencies:
            fake.default = Reply(delay=latency)
            log(f"{latency * 1000:.0f} ms provider: {paced_n} clicks at {args.rate:g}/s")
            _, paced = phase(
                fake, sampler, worker, env, first=first, count=paced_n, rate=args.rate,
                queue=queue, log_dir=log_dir, name="worker-paced",
            )  # fmt: skip
            first += paced_n
            log(
                f"  click → provider p50 {paced['p50'] * 1000:.0f} ms, "
                f"p99 {paced['p99'] * 1000:.0f} ms, {paced['sms_per_s']:.1f} SMS/s, "
                f"clicks late p99 {paced['click_late_p99'] * 1000:.0f} ms, "
                f"{paced['worker_db_connections_max']} worker / "
                f"{paced['db_connections_max']} DB connections, "
                f"worker {paced['worker_cpu_ms_per_sms']:.1f} ms CPU/SMS"
            )
            log(f"{latency * 1000:.0f} ms provider: backlog of {args.backlog}")
            # Its own queue: the paced worker, still running, must not take the backlog.
            drain, backlog = phase(
                fake, sampler, None, env, first=first, count=args.backlog, rate=0,
                queue=f"{queue}-backlog-{latency}", log_dir=log_dir,
                name=f"worker-backlog-{latency}",
            )  # fmt: skip
            workers.append(drain)
            drain.stop()
            sampler.worker_pid = worker.process.pid
            first += args.backlog
            log(
                f"  {backlog['sms_per_s']:.1f} SMS/s, "
                f"{backlog['worker_db_connections_max']} worker / "
                f"{backlog['db_connections_max']} DB connections, "
                f"worker RSS {backlog['worker_rss_mb']:.0f} MB"
            )
            results[latency] = {"paced": paced, "backlog": backlog}
        ok = all(r["paced"]["p99"] < TARGET_P99 for lat, r in results.items() if lat >= 1.0)
        print(json.dumps({str(k): v for k, v in results.items()}, indent=2))
        if not args.no_readme:
            readme_update(results, args, "PostgreSQL", "Redis")
        log(f"click → provider p99 under {TARGET_P99} s at 1 s provider: {'yes' if ok else 'NO'}")
        return 0 if ok else 1
    finally:
        for w in workers:
            w.stop()
        fake.stop()
        with suppress(Exception):
            pg_drop(database_url)


if __name__ == "__main__":
    sys.exit(main())
