"""scripts/audit_index.py, the stand-in for pip-audit where only PyPI's project JSON answers:
its verdicts, checked without the network on PyPI-shaped answers."""

import pytest

from scripts import audit_index

DJANGO = {
    "info": {"version": "6.1.3"},
    "releases": {v: [] for v in ["5.2", "5.2.1", "5.2.18", "5.2.19", "6.0.10", "6.1rc1", "6.1.3"]},
    "vulnerabilities": [],
}


class Answer:
    def __init__(self, project):
        self.project = project

    def raise_for_status(self):
        pass

    def json(self):
        return self.project


@pytest.fixture
def index(monkeypatch):
    projects = {}
    monkeypatch.setattr(audit_index.requests, "get", lambda url, timeout: Answer(projects[url.split("/")[-2]]))
    return projects


def test_a_pin_behind_its_series_fails(index):
    index["Django"] = DJANGO
    assert audit_index.audit("Django", "5.2.18")[2] == ["5.2.19 is out in its series"]
    assert audit_index.audit("Django", "5.2.19")[2] == []
    assert audit_index.audit("Django", "6.1.3")[2] == []


def test_a_listed_vulnerability_of_the_newest_release_fails(index):
    index["twilio"] = {"info": {"version": "9.13.0"}, "releases": {"9.13.0": []}, "vulnerabilities": [{"id": "GHSA-xxxx"}]}
    assert audit_index.audit("twilio", "9.13.0")[2] == ["GHSA-xxxx"]


def test_pins_are_read_with_extras_and_markers(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("# comment\nDjango==5.2.19\npsycopg[binary]==3.3.9 ; python_version >= '3.11'\n\nsix\n")
    assert list(audit_index.pins(path)) == [("Django", "5.2.19"), ("psycopg", "3.3.9")]


def test_the_run_fails_when_one_pin_fails(index, tmp_path, capsys):
    index["Django"] = DJANGO
    path = tmp_path / "requirements.txt"
    path.write_text("Django==5.2.1\n")
    assert audit_index.main(path) == 1
    assert "5.2.19 is out in its series" in capsys.readouterr().out
