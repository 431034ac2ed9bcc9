"""The Procfile's worker waits on Twilio with many threads over a few database connections
(issue 13 item 2: the worker must not be the bottleneck below 50 SMS/s with a 1 s provider,
and its connections must stay within what PostgreSQL allows)."""

import json
import os
import re
import subprocess
import sys

from tests.conftest import ROOT, database_url, needs_postgres

SMS_PER_SECOND, PROVIDER_LATENCY = 50, 1.0


def procfile_worker() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("worker:"):
            return line
    raise AssertionError("no worker line in the Procfile")


def pool_size(line: str) -> int:
    return int(re.search(r"DB_POOL_MAX_SIZE=\$\{DB_POOL_MAX_SIZE:-(\d+)\}", line).group(1))


def test_procfile_worker_has_threads_enough_for_50_sms_a_second_at_1_s():
    line = procfile_worker()
    assert "--pool=threads" in line
    concurrency = int(re.search(r"--concurrency=(\d+)", line).group(1))
    # Each send holds a thread for the provider's latency; half again as many for headroom.
    assert concurrency >= 1.5 * SMS_PER_SECOND * PROVIDER_LATENCY
    assert 0 < pool_size(line) < concurrency


@needs_postgres
def test_worker_threads_never_hold_more_connections_than_its_pool(transactional_db):
    """A hundred threads querying at once, as the worker's settings configure Django: the
    connections PostgreSQL sees never exceed the pool, which leaves room in max_connections."""
    size = pool_size(procfile_worker())
    app = "sms-pool-test"
    script = """
import json, threading, django
django.setup()
from django.db import connection
seen, lock = [], threading.Lock()
barrier = threading.Barrier(100)
def work():
    barrier.wait()
    for _ in range(5):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), current_setting('max_connections')::int FROM pg_stat_activity"
                " WHERE application_name = %s", [APP])
            with lock:
                seen.append(cursor.fetchone())
        connection.close()  # back to the pool, as the send task does before calling Twilio
threads = [threading.Thread(target=work) for _ in range(100)]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps([max(n for n, _ in seen), seen[0][1], len(seen)]))
""".replace("APP", repr(app))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"{database_url()}?application_name={app}",
        "DB_POOL_MAX_SIZE": str(size),
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    peak, max_connections, queries = json.loads(result.stdout)
    assert queries == 500
    assert 1 <= peak <= size
    assert size <= max_connections // 4  # web processes and other workers need the rest
