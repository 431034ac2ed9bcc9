"""Benchmark of login cost: logins per second against the ceiling Argon2 sets on this machine.

    python -m bench.login                        # SQLite + filesystem broker, in a temp dir
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
    BENCH_CACHE_URL=redis://127.0.0.1:6379/8 python -m bench.login

*Ceiling*: one process per core verifies a password with the portal's own
``PASSWORD_HASHERS`` (its first hasher, Argon2, with the portal's parameters) as fast as it can
for ``--seconds``; the sum of their rates is the most logins per second these cores could do
if a login cost nothing but its hash.

*Logins*: a real gunicorn (2 workers × 4 threads, DEBUG off) on 127.0.0.1; client threads
(``--clients``, default 8) each log bench customers in one after the other, each login a new
browser: ``GET /login/`` then ``POST /login/`` with the right password, which must answer 302
to the dashboard. Logins/s over ``--seconds`` after a warm-up, and the ratio to the ceiling:
what the portal spends beyond the hash (session, audit, throttling, the pages) shows as the
distance from 100 %.

Throttling: every password is right, so django-axes counts no failure (and resets none), and
the per-address limit (``LOGIN_ADDRESS_FAILURE_LIMIT``) counts failed logins only: the bench
changes no throttling setting. The logins are spread over ``--customers`` User IDs all the
same. Each login ends the customer's previous session (one session per user), as it does for
a customer.

Results are printed and written into README.md between ``<!-- bench-login:start -->`` and
``<!-- bench-login:end -->``.
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
from contextlib import ExitStack, suppress
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.common import ms  # noqa: E402

README = ROOT / "README.md"
MARK_START, MARK_END = "<!-- bench-login:start -->", "<!-- bench-login:end -->"
TARGET_RATIO = 0.85


def log(message: str) -> None:
    common.log(message, "bench-login")


# --- the ceiling: hashing alone, one process per core -------------------------------------


def side_hash(seconds: float) -> dict:
    """In a child process with the bench's env: verify one password with the portal's hasher
    for ``seconds``; return how many and the hasher's parameters."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.contrib.auth.hashers import get_hasher

    hasher = get_hasher("default")
    password = "Bench-" + secrets.token_urlsafe(12)
    encoded = hasher.encode(password, hasher.salt())
    assert hasher.verify(password, encoded)
    start, cpu_start = time.perf_counter(), time.process_time()
    done = 0
    while time.perf_counter() - start < seconds:
        hasher.verify(password, encoded)
        done += 1
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start  # all threads (Argon2 lanes may use several)
    params = {
        k: getattr(hasher, k)
        for k in ("time_cost", "memory_cost", "parallelism", "iterations")
        if hasattr(hasher, k)
    }
    return {
        "hasher": hasher.algorithm,
        "params": params,
        "done": done,
        "seconds": elapsed,
        "cpu": cpu,
    }


def ceiling(env: dict, processes: int, seconds: float) -> dict:
    argv = [sys.executable, "-m", "bench.login", "_hash", str(seconds)]
    children = [
        subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    results = []
    for child in children:
        out, _ = child.communicate(timeout=seconds + 120)
        if child.returncode:
            raise RuntimeError(f"hashing child failed ({child.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    rate = sum(r["done"] / r["seconds"] for r in results)
    cpu_ms = 1000 * sum(r["cpu"] for r in results) / max(1, sum(r["done"] for r in results))
    return {
        "rate": rate,
        "cpu_ms": cpu_ms,
        "hasher": results[0]["hasher"],
        "params": results[0]["params"],
    }


# --- logins through gunicorn --------------------------------------------------------------


def one_login(base: str, user_id: str, password: str) -> float:
    import requests

    from bench.otp_generate import HTTP_TIMEOUT, _post

    session = requests.Session()
    started = time.perf_counter()
    page = session.get(f"{base}/login/", timeout=HTTP_TIMEOUT)
    if page.status_code != 200:
        raise RuntimeError(f"login page: HTTP {page.status_code}")
    answer = _post(session, f"{base}/login/", {"username": user_id, "password": password})
    elapsed = time.perf_counter() - started
    if answer.status_code != 302 or "/login" in answer.headers.get("Location", ""):
        raise RuntimeError(f"login of {user_id}: HTTP {answer.status_code} {answer.text[:200]!r}")
    session.close()
    return elapsed


def logins(base, customers, password, clients, seconds, warmup, meter):
    from bench.otp_generate import CpuMeter, stats

    problems, lock = [], threading.Lock()
    next_customer = iter(range(10**9))

    def lane(until, times):
        while time.perf_counter() < until and not problems:
            with lock:
                user_id = customers[next(next_customer) % len(customers)]
            try:
                times.append(one_login(base, user_id, password))
            except Exception as exc:  # noqa: BLE001 (reported; the bench fails)
                problems.append(str(exc))

    def run(duration):
        times = [[] for _ in range(clients)]
        until = time.perf_counter() + duration
        threads = [threading.Thread(target=lane, args=(until, t)) for t in times]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [x for t in times for x in t]

    log(f"warm-up {warmup:g} s")
    run(warmup)
    log(f"timing {seconds:g} s of logins from {clients} client threads")
    before = meter.snapshot()
    t0 = time.perf_counter()
    times = run(seconds)
    wall = time.perf_counter() - t0
    cpu = CpuMeter.delta(before, meter.snapshot(), max(1, len(times)))
    return {
        "logins": len(times),
        "seconds": wall,
        "rate": len(times) / wall,
        "latency": stats(times),
        "cpu": cpu,
        "problems": problems,
    }


# --- report -------------------------------------------------------------------------------


def readme_update(setup_key, machine, top, result, text) -> None:
    content = README.read_text()
    if MARK_START not in content or MARK_END not in content:
        raise RuntimeError("README.md has no bench-login markers")
    head, rest = content.split(MARK_START, 1)
    old, tail = rest.split(MARK_END, 1)
    kept = [
        line
        for line in old.splitlines()
        if line.startswith("| 20") and f"| {setup_key} |" not in line
    ]
    date = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    params = ", ".join(f"{k} {v}" for k, v in top["params"].items())
    per = result["cpu"]["per_request_ms"]
    row = (
        f"| {date} | {machine} | {setup_key} | {top['hasher']} ({params}) | "
        f"{top['rate']:.1f} | {result['logins']} in {result['seconds']:.0f} s | "
        f"**{result['rate']:.1f}** | **{result['rate'] / top['rate']:.0%}** | "
        f"{ms(result['latency']['p50'])} / {ms(result['latency']['p99'])} | "
        f"{per.get('gunicorn', 0):.1f} (hash alone {top['cpu_ms']:.1f}) |"
    )
    section = "\n".join(
        [
            "",
            "**Login cost** (`python -m bench.login`). Ceiling: one process per core verifying "
            "a password with the portal's own hasher and parameters, nothing else. Logins: "
            "`GET /login/` + `POST /login/` (a new browser each time, the right password, 302 "
            "to the dashboard) through gunicorn (2 workers × 4 threads, DEBUG off) from client "
            "threads on 127.0.0.1. The ceiling is measured before and after the logins (the "
            "mean is shown). **Target: logins/s at least 85 % of the ceiling.**",
            "",
            "| Date | Machine | Database, cache | Hasher | Ceiling (hashes/s) | Logins "
            "| Logins/s | Ratio | login p50 / p99 | gunicorn CPU ms per login (hash alone) |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *sorted(kept),
            row,
            "",
            f"Last run ({date}, {setup_key}): {text}.",
            "",
        ]
    )
    README.write_text(head + MARK_START + section + MARK_END + tail)


# --- main ---------------------------------------------------------------------------------


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_hash"]:
        sys.stdout.write(json.dumps(side_hash(float(argv[1]))) + "\n")
        return 0

    from bench.otp_generate import (
        CpuMeter,
        gunicorn_start,
        pg_drop,
        pg_recreate,
    )

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds, each phase")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--no-readme", action="store_true", help="print only")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, SQLite)")
    args = parser.parse_args(argv)
    if not (0 < args.clients <= args.customers <= 1000):
        parser.error("need 0 < clients <= customers <= 1000")

    database_url = os.environ.get("BENCH_DATABASE_URL", "")
    broker_url = os.environ.get("BENCH_BROKER_URL", "")
    cache_url = common.cache_url(broker_url)
    for url in (database_url, cache_url, broker_url):
        host = urlsplit(url).hostname
        if url and host not in {"127.0.0.1", "localhost", "::1"}:
            raise SystemExit(f"the bench talks to 127.0.0.1 only, not {host!r}")

    tmp = tempfile.mkdtemp(prefix="portal-bench-login-")
    tmp_path = Path(tmp)
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    log(f"state and logs in {tmp}")
    password = "Bench-" + secrets.token_urlsafe(12)
    pg_created = finished = False
    try:
        if database_url.startswith(("postgres://", "postgresql://")):
            pg_recreate(database_url)
            pg_created = True
        env = common.portal_env(
            tmp_path, database_url=database_url, broker_url=broker_url, password=password
        )
        cores = os.cpu_count() or 1
        log(f"ceiling: {cores} processes hashing for {args.seconds:g} s")
        top = ceiling(env, cores, args.seconds)
        log(f"ceiling: {top['rate']:.1f} verifications/s ({top['hasher']} {top['params']})")

        made = common.portal_setup(env, log_dir, args.customers, "bench-login")
        customers = [c["user_id"] for c in made["customers"]]
        with ExitStack() as stack:
            web, base = gunicorn_start(env, log_dir, "gunicorn")
            stack.callback(web.stop)
            meter = CpuMeter({"gunicorn": web})
            result = logins(
                base, customers, password, args.clients, args.seconds, args.warmup, meter
            )
            web.check_alive()
        # Measured again after the logins, the mean of both: a machine whose load changed
        # during the run moves both figures the same way.
        log(f"ceiling again: {cores} processes hashing for {args.seconds:g} s")
        again = ceiling(env, cores, args.seconds)
        log(f"ceiling again: {again['rate']:.1f} verifications/s")
        top["rate"] = (top["rate"] + again["rate"]) / 2
        top["cpu_ms"] = (top["cpu_ms"] + again["cpu_ms"]) / 2
        ratio = result["rate"] / top["rate"]
        per = result["cpu"]["per_request_ms"]
        print(
            f"\nceiling {top['rate']:.1f} hashes/s on {cores} cores; {result['logins']} logins "
            f"in {result['seconds']:.1f} s = {result['rate']:.1f}/s = {ratio:.0%} of the "
            f"ceiling; login p50 {ms(result['latency']['p50'])} p99 "
            f"{ms(result['latency']['p99'])}"
        )
        print(
            "CPU per login (ms): "
            + ", ".join(f"{k} {v:.1f}" for k, v in per.items())
            + f"; machine {result['cpu']['machine_busy']:.0%} busy; one verification alone "
            f"{top['cpu_ms']:.1f} ms CPU"
        )
        # The same ratio in CPU, which other work on the machine does not move: the hash's
        # share of what gunicorn spends on a login.
        cpu_ratio = top["cpu_ms"] / per["gunicorn"] if per.get("gunicorn") else 0.0
        print(
            f"CPU ratio: hash {top['cpu_ms']:.1f} ms / gunicorn {per.get('gunicorn', 0):.1f} "
            f"ms per login = {cpu_ratio:.0%}"
        )
        text = (
            f"{result['rate']:.1f} logins/s against a ceiling of {top['rate']:.1f} on {cores} "
            f"cores: {ratio:.0%} ({'meets' if ratio >= TARGET_RATIO else 'misses'} ≥ 85 %); "
            f"in CPU, the hash is {cpu_ratio:.0%} of gunicorn's work per login"
        )
        if result["problems"]:
            print("\nchecks FAILED, README not updated:\n  " + "\n  ".join(result["problems"][:5]))
            return 1
        if not args.no_readme:
            cache = "redis cache" if cache_url else "local-memory cache"
            setup_key = f"{made['database']}, {cache}"
            machine = common.machine()
            readme_update(setup_key, machine, top, result, text)
            log("README.md bench-login section updated")
        finished = True
        return 0
    finally:
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
