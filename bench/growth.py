"""Growth: the benches on a database that already holds a bank's history (issue 13, item 5).

    python -m bench.growth --database-url postgres://postgres@127.0.0.1:5432/portal_bench \\
        --broker-url redis://127.0.0.1:6379/7 --then otp [--then confirm]

A template database (``<name>_growth``) is migrated and filled with ``--sms`` SMS rows (nine in
ten are codes, each with its challenge; one in ten a notice) and ``--audit`` audit events, spread
over ``--users`` customers and ``--days`` days, by ``INSERT … SELECT generate_series`` (inserts
only: the audit table's append-only triggers refuse UPDATE and DELETE, not INSERT). Each bench
named by ``--then`` runs twice through its own ``main()``: on an empty database, then on a copy
of the template (``BENCH_DATABASE_TEMPLATE``, read by ``bench.otp_generate.pg_recreate``), so
both figures come from the same machine in the same minutes. For ``otp`` the figures are
compared (no figure may get worse by more than 20%) and written into README.md between
``<!-- bench-growth:start -->`` and ``<!-- bench-growth:end -->``; ``confirm`` prints its own.
The template is dropped at the end.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common, otp_generate  # noqa: E402

README = ROOT / "README.md"
MARK_START, MARK_END = "<!-- bench-growth:start -->", "<!-- bench-growth:end -->"
ALLOWED_WORSENING = 1.20


def log(message: str) -> None:
    print(f"[growth {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _with_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


# --- inside Django (a child process on the template database) -------------------------------

FILL_SQL = [
    # Challenges of the codes, one per code SMS.
    """
    WITH u AS (SELECT array_agg(id ORDER BY user_id) AS ids, count(*) AS n FROM accounts_user
               WHERE user_id LIKE 'growth%%')
    INSERT INTO tokens_challenge (id, user_id, purpose, intent_digest, summary, channel, salt,
                                  status, attempts, created_at, expires_at, consumed_at)
    SELECT md5('c' || g)::uuid, u.ids[1 + g %% u.n],
           (ARRAY['transfer', 'payee', 'password_reset', 'phone_change'])[1 + g %% 4],
           md5('i' || g), '{"text": "transfer %%(amount)s", "params": {"amount": "Rp 1"}}',
           'sms', md5('s' || g),
           CASE WHEN g %% 10 < 8 THEN 'consumed' ELSE 'voided' END, g %% 2,
           t.at, t.at + interval '5 minutes', CASE WHEN g %% 10 < 8 THEN t.at END
    FROM u, generate_series(1, %(codes)s) AS g,
         LATERAL (SELECT now() - ((g::bigint * 7919) %% (%(days)s * 86400)) * interval '1 second'
                  AS at) AS t
    """,
    # Their SMS, to each customer's own number.
    """
    INSERT INTO tokens_smsmessage (challenge_id, user_id, "to", notice, status, provider_id,
                                   error_code, attempts, created_at, updated_at)
    SELECT c.id, c.user_id, a.phone, '{}', (ARRAY['delivered', 'delivered', 'delivered',
           'sent', 'undelivered'])[1 + (abs(hashtext(c.id::text)) %% 5)], 'SMg' || md5(c.id::text),
           '', 1, c.created_at, c.created_at + interval '3 seconds'
    FROM tokens_challenge c JOIN accounts_user a ON a.id = c.user_id
    WHERE a.user_id LIKE 'growth%%'
    """,
    # Notices (no code): password changed, payee added…
    """
    WITH u AS (SELECT array_agg(id ORDER BY user_id) AS ids, array_agg(phone ORDER BY user_id)
               AS phones, count(*) AS n FROM accounts_user WHERE user_id LIKE 'growth%%')
    INSERT INTO tokens_smsmessage (challenge_id, user_id, "to", notice, status, provider_id,
                                   error_code, attempts, created_at, updated_at)
    SELECT NULL, u.ids[1 + g %% u.n], u.phones[1 + g %% u.n],
           '{"text": "Your password was changed.", "params": {}}', 'delivered',
           'SMn' || md5('n' || g), '', 1, t.at, t.at
    FROM u, generate_series(1, %(notices)s) AS g,
         LATERAL (SELECT now() - ((g::bigint * 104729) %% (%(days)s * 86400)) * interval '1 second'
                  AS at) AS t
    """,
    # Audit events: logins, codes, transfers… of every customer, by themselves.
    """
    WITH u AS (SELECT array_agg(id ORDER BY user_id) AS ids, count(*) AS n FROM accounts_user
               WHERE user_id LIKE 'growth%%')
    INSERT INTO accounts_auditevent (created_at, actor_id, subject_id, action, ip_address,
                                     user_agent, reason, data)
    SELECT t.at, u.ids[1 + g %% u.n], u.ids[1 + g %% u.n],
           (%(actions)s::text[])[1 + g %% cardinality(%(actions)s::text[])],
           ('10.' || (g %% 250) || '.' || (g / 250 %% 250) || '.1')::inet, 'Mozilla/5.0 growth',
           '', jsonb_build_object('n', g)
    FROM u, generate_series(1, %(audit)s) AS g,
         LATERAL (SELECT now() - ((g::bigint * 6007) %% (%(days)s * 86400)) * interval '1 second'
                  AS at) AS t
    """,
]


def side_fill(sms: int, audit: int, users: int, days: int) -> dict:
    """Fill the database named by DATABASE_URL (PostgreSQL) with the history."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from accounts.models import AuditEvent, User

    started = time.monotonic()
    with transaction.atomic():
        User.objects.bulk_create(
            [
                User(
                    user_id=f"growth{i:06d}",
                    full_name=f"Growth Customer {i}",
                    phone=f"+62813{10000000 + i}",
                    password="!",  # noqa: S106 (unusable: these customers never log in)
                )
                for i in range(users)
            ],
            batch_size=2000,
        )
    codes = sms * 9 // 10
    params = {
        "codes": codes,
        "notices": sms - codes,
        "audit": audit,
        "days": days,
        "actions": [
            str(action)
            for action in (
                AuditEvent.Action.LOGIN,
                AuditEvent.Action.OTP_ISSUED,
                AuditEvent.Action.OTP_ISSUED,
                AuditEvent.Action.OTP_FAILED,
                AuditEvent.Action.LOGOUT,
            )
        ],
    }
    with connection.cursor() as cursor:
        for statement in FILL_SQL:
            cursor.execute(statement, params)
    connection.close()
    with connection.cursor() as cursor:  # autocommit: VACUUM cannot run in a transaction
        cursor.execute("VACUUM ANALYZE")
        counts = {}
        for table in (
            "accounts_user",
            "tokens_challenge",
            "tokens_smsmessage",
            "accounts_auditevent",
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608  # nosec B608 (the four fixed table names above)
            counts[table] = cursor.fetchone()[0]
    return {"rows": counts, "seconds": round(time.monotonic() - started, 1)}


# --- driving -----------------------------------------------------------------------------


def fill(template_url: str, env: dict, args) -> dict:
    otp_generate.pg_recreate(template_url)
    child = {**env, "DATABASE_URL": template_url, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    log("migrating the template database")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=child,
        check=True,
        capture_output=True,
    )
    log(f"filling it: {args.sms:,} SMS, {args.audit:,} audit events, {args.users:,} customers")
    payload = json.dumps(
        {"sms": args.sms, "audit": args.audit, "users": args.users, "days": args.days}
    )
    result = subprocess.run(
        [sys.executable, "-m", "bench.growth", "_fill", payload],
        cwd=ROOT,
        env=child,
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise RuntimeError(f"filling failed:\n{result.stderr[-3000:]}")
    filled = json.loads(result.stdout.strip().splitlines()[-1])
    log(f"filled in {filled['seconds']} s: {filled['rows']}")
    return filled


def otp_twice(args) -> tuple[list, list]:
    """The Generate OTP bench on an empty database, then on the grown one (``--grown-first``:
    the other way round, to tell the history's cost from the machine's drift)."""
    common = [
        "--no-readme",
        "--requests",
        str(args.requests),
        "--inline-requests",
        str(args.inline_requests),
    ]
    empty, grown = [], []
    order = (
        [("grown", grown), ("empty", empty)]
        if args.grown_first
        else [
            ("empty", empty),
            ("grown", grown),
        ]
    )
    for kind, results in order:
        if kind == "grown":
            os.environ["BENCH_DATABASE_TEMPLATE"] = args.template
        else:
            os.environ.pop("BENCH_DATABASE_TEMPLATE", None)
        log(f"Generate OTP on the {kind} database")
        otp_generate.main(common, results=results)
    os.environ.pop("BENCH_DATABASE_TEMPLATE", None)
    return empty, grown


def compare(empty, grown) -> list[tuple[str, float, float, bool]]:
    """(figure, empty, grown, within 20%) for the celery run's figures."""
    e, g = empty[0], grown[0]
    rows = []
    for name, before, after in (
        ("p50 (ms)", e.latency["p50"] * 1000, g.latency["p50"] * 1000),
        ("p99 (ms)", e.latency["p99"] * 1000, g.latency["p99"] * 1000),
        ("gunicorn CPU per request (ms)", e.gunicorn_cpu_ms, g.gunicorn_cpu_ms),
        ("SQL statements per request (max)", max(e.queries or [0]), max(g.queries or [0])),
        (
            "click→provider p99 (ms)",
            e.provider.get("p99", 0) * 1000,
            g.provider.get("p99", 0) * 1000,
        ),
    ):
        rows.append(
            (name, before, after, after <= before * ALLOWED_WORSENING or after - before < 1)
        )
    # Not a figure of the portal: how busy the machine was (other work inflates latency).
    busy = (e.cpu["machine_busy"] * 100, g.cpu["machine_busy"] * 100)
    rows.append(("machine busy while timed (%)", *busy, True))
    return rows


def readme_update(filled: dict, rows, args) -> None:
    content = README.read_text()
    if MARK_START not in content or MARK_END not in content:
        raise RuntimeError("README.md has no bench-growth markers")
    head, rest = content.split(MARK_START, 1)
    _old, tail = rest.split(MARK_END, 1)
    date = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    counts = filled["rows"]
    lines = [
        "",
        f"**Growth** (`bench/growth.py`, {date}, {common.machine()}): Generate OTP "
        f"(celery run, {args.requests} requests at 20/s) on an empty database and on one holding "
        f"{counts['tokens_smsmessage']:,} SMS, {counts['tokens_challenge']:,} challenges and "
        f"{counts['accounts_auditevent']:,} audit events of {args.users:,} customers over "
        f"{args.days} days (filled in {filled['seconds']} s). **Target: no figure more than "
        "20% worse.**",
        "",
        "| Figure | empty | grown | grown / empty |",
        "|---|---|---|---|",
    ]
    for name, before, after, ok in rows:
        ratio = f"{after / before:.2f}" if before else "–"
        lines.append(f"| {name} | {before:.1f} | {after:.1f} | {ratio}{'' if ok else ' ✗'} |")
    lines.append("")
    README.write_text(head + MARK_START + "\n".join(lines) + MARK_END + tail)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--broker-url", default=os.environ.get("BENCH_BROKER_URL", ""))
    parser.add_argument("--then", action="append", choices=["otp", "confirm"], default=[])
    parser.add_argument("--sms", type=int, default=1_000_000)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--inline-requests", type=int, default=12)
    parser.add_argument("--grown-first", action="store_true")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args(argv)
    url = args.database_url
    if not url.startswith(("postgres://", "postgresql://")) or "bench" not in url:
        parser.error("--database-url must be a PostgreSQL database with 'bench' in its name")
    name = urlsplit(url).path.lstrip("/")
    args.template = f"{name}_growth"
    template_url = _with_name(url, args.template)
    os.environ["BENCH_DATABASE_URL"] = url
    if args.broker_url:
        os.environ["BENCH_BROKER_URL"] = args.broker_url
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CACHE_URL"}}
    env.update(PORTAL_ENV="development", DEBUG="False", CELERY_BROKER_URL="memory://")
    status = 0
    try:
        filled = fill(template_url, env, args)
        if "otp" in args.then:
            empty, grown = otp_twice(args)
            if len(empty) < 2 or len(grown) < 2:
                log("a Generate OTP run failed: see above")
                return 1
            rows = compare(empty, grown)
            print("\nGrowth, Generate OTP (celery run): figure, empty, grown")
            for figure, before, after, ok in rows:
                print(f"  {figure:36s} {before:9.1f} {after:9.1f}  {'ok' if ok else 'WORSE >20%'}")
                status |= 0 if ok else 1
            if not args.no_readme:
                readme_update(filled, rows, args)
                log("README.md bench-growth section updated")
        if "confirm" in args.then:
            from bench import confirm

            os.environ["BENCH_DATABASE_TEMPLATE"] = args.template
            log("whole transfers on the grown database (bench.confirm)")
            status |= confirm.main(["--no-readme"]) or 0
    finally:
        os.environ.pop("BENCH_DATABASE_TEMPLATE", None)
        otp_generate.pg_drop(template_url)
    return status


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "_fill":
        sys.stdout.write(json.dumps(side_fill(**json.loads(sys.argv[2]))) + "\n")
        sys.exit(0)
    sys.exit(main())
