"""The Procfile's ``beat`` process, run for real next to a real worker on the configured broker
(the filesystem broker of ``make run``, or Redis in CI), sends a housekeeping job on its period
and the worker runs it."""

import os
import shlex
import subprocess
import sys
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from tests.conftest import ROOT, database_url, wait_for

pytestmark = pytest.mark.worker


def _procfile_beat() -> list[str]:
    """The Procfile's beat command, as arguments after ``celery``."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "beat":
            args = shlex.split(command)
            assert args[0] == ".venv/bin/celery", args
            return args[1:]
    raise AssertionError("no beat line in the Procfile")


def test_beat_sends_the_sessions_job_on_its_period(celery_worker, tmp_path):
    args = _procfile_beat()
    assert args[:3] == ["-A", "portal", "beat"]
    Session.objects.create(
        session_key="x" * 32, session_data="x", expire_date=timezone.now() - timedelta(hours=1)
    )
    Session.objects.create(
        session_key="y" * 32, session_data="x", expire_date=timezone.now() + timedelta(hours=1)
    )
    log = tmp_path / "beat.log"
    with open(log, "w") as out:
        beat = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                *args,
                "--schedule",
                str(tmp_path / "beat-schedule"),
                "--max-interval",
                "1",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": database_url(),
                "HOUSEKEEPING_SESSIONS_EVERY": "1",
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: not Session.objects.filter(session_key="x" * 32).exists(), timeout=30)
    except AssertionError:
        raise AssertionError(f"the job did not run; beat said: {log.read_text()[-2000:]}") from None
    finally:
        beat.terminate()
        beat.wait(timeout=15)
    assert Session.objects.filter(session_key="y" * 32).exists()
    assert "Sending due task sessions (portal.tasks.sessions_clear)" in log.read_text()
