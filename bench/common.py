"""What every benchmark shares: log lines, durations, and the machine a figure came from.

The machine line carries a **speed reading** (``bench/speed.py``: CPU seconds of a fixed piece
of Django work, lower is faster). The same code has cost 3.4 times as much CPU on one day as on
another on the same kind of machine (a shared host), so a figure is comparable only with one
taken at a similar reading; the README tables show it beside every run.
"""

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
