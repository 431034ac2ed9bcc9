"""What every benchmark shares: log lines, durations, and the machine a figure came from.

The machine line carries a **speed reading** (``bench/speed.py``: CPU seconds of a fixed piece
of Django work, lower is faster). The same code has cost 3.4 times as much CPU on one day as on
another on the same kind of machine (a shared host), so a figure is comparable only with one
taken at a similar reading; the README tables show it beside every run.
"""

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cache_url(broker_url: str) -> str:
    """The production stack keeps sessions, SMS limits and the SMS rate alarm in a shared Redis
    cache: ``BENCH_CACHE_URL``, by default the broker's Redis database (its keys do not meet
    Celery's); none (each process's local memory) with a filesystem broker."""
    if os.environ.get("BENCH_CACHE_URL"):
        return os.environ["BENCH_CACHE_URL"]
    return broker_url if broker_url.startswith(("redis://", "rediss://")) else ""


HUGE = str(10**9)

# The portal as the SMS benchmarks run it: the real twilio client against the fake Twilio, and
# the per-customer limits lifted (bench customers send far more than a customer may; the limits
# are tested elsewhere, not measured here).
SMS_ENV = {
    "CELERY_TASK_ALWAYS_EAGER": "False",
    "SMS_BACKEND": "twilio",
    "TWILIO_TIMEOUT": "5",
    "SMS_STATUS_CALLBACK_URL": "",
    "OTP_SMS_USER_LIMIT": HUGE,
    "OTP_SMS_PHONE_LIMIT": HUGE,
    "OTP_RESEND_COOLDOWN": "0",
    "OTP_SMS_GLOBAL_ALARM": HUGE,
    "SESSION_IDLE_TIMEOUT": str(24 * 3600),
}


def portal_env(
    tmp_path: Path,
    *,
    database_url: str,
    broker_url: str,
    password: str,
    settings: str = "portal.settings",
    **extra: str,
) -> dict:
    """The environment of the portal's processes in a benchmark (gunicorn, worker, helpers):
    this one's, without its database, broker and cache, plus the bench's own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE=settings,
        PORTAL_ENV="development",
        DEBUG="False",
        PORTAL_VAR_DIR=str(tmp_path),
        DATABASE_URL=database_url or f"sqlite:///{tmp_path / 'bench.sqlite3'}",
        CELERY_BROKER_URL=broker_url or "filesystem://",
        BENCH_CUSTOMER_PASSWORD=password,
        PYTHONUNBUFFERED="1",
        **extra,
    )
    if cache_url(broker_url):
        env["CACHE_URL"] = cache_url(broker_url)
    return env


def run_checked(argv: list[str], env: dict, log_path: Path, timeout: float = 300) -> str:
    result = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    log_path.write_text(result.stdout + result.stderr)
    if result.returncode:
        raise RuntimeError(
            f"{' '.join(argv[1:4])} failed:\n{(result.stdout + result.stderr)[-3000:]}"
        )
    return result.stdout


def portal_setup(env: dict, log_dir: Path, customers: int, name: str = "bench") -> dict:
    """Migrate the bench database and make ``customers`` bench customers (``bench.portal_side``);
    returns what it made (customers with their accounts and phones, the destination)."""
    log("migrating", name)
    run_checked([sys.executable, "manage.py", "migrate", "--noinput"], env, log_dir / "migrate.log")
    log(f"creating {customers} bench customers", name)
    made = run_checked(
        [sys.executable, "-m", "bench.portal_side", "setup", "--customers", str(customers)],
        env,
        log_dir / "setup.log",
    )
    return json.loads(made.strip().splitlines()[-1])


def log(message: str, name: str = "bench") -> None:
    print(f"[{name} {time.strftime('%H:%M:%S')}] {message}", flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def speed() -> float:
    """``bench/speed.py``'s reading, in a child process with nothing else loaded."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.speed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return float(result.stdout.strip())


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def machine() -> str:
    """E.g. '2 CPU (AMD EPYC), Python 3.11.7, speed 1.95 s' (lower is faster)."""
    return (
        f"{os.cpu_count()} CPU ({cpu_model()}), Python {platform.python_version()}, "
        f"speed {speed():.2f} s"
    )
