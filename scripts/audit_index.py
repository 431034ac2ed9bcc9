"""A weaker stand-in for pip-audit where only PyPI's project JSON answers.

pip-audit asks PyPI for each pinned release (``/pypi/<name>/<version>/json``)
or asks osv.dev; on the machines this project is built on, the first answers
404 and the second does not resolve, so pip-audit can audit nothing there.
PyPI's project page (``/pypi/<name>/json``) does answer. It lists the known
vulnerabilities of the *newest* release and every release's version number.

For every pin in requirements.txt this prints, and fails (exit 1) unless each
holds:

- the pin is the newest release of its series (same major.minor), because
  security fixes land as the next release of every supported series; and
- where the pin is the newest release of the project, PyPI lists no known
  vulnerability for it.

It says nothing about a pin on an older series beyond "newest of its series"
(Django 5.2 LTS): that is why ``make audit`` (pip-audit) stays the real check.
"""

import re
import sys
from pathlib import Path

import requests

INDEX = "https://pypi.org/pypi/{name}/json"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;]+)")


def pins(path):
    for line in Path(path).read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            yield match.group(1), match.group(2)


def series(version):
    return tuple(version.split(".")[:2])


def is_final(version):
    return re.fullmatch(r"[0-9]+(\.[0-9]+)*(\.post[0-9]+)?", version) is not None


def newest_of_series(releases, version):
    def key(v):
        return tuple(int(p) for p in re.findall(r"[0-9]+", v))

    same = [v for v in releases if series(v) == series(version) and is_final(v)]
    return max(same, key=key, default=version)


def audit(name, version):
    answer = requests.get(INDEX.format(name=name), timeout=30)
    answer.raise_for_status()
    project = answer.json()
    newest = project["info"]["version"]
    newest_here = newest_of_series(project["releases"], version)
    problems = []
    if newest_here != version:
        problems.append(f"{newest_here} is out in its series")
    if version == newest:
        problems += [v["id"] for v in project.get("vulnerabilities", [])]
    checked = "vulnerabilities of this release" if version == newest else "newest of its series only"
    return newest, checked, problems


def main(path="requirements.txt"):
    failed = False
    for name, version in pins(path):
        try:
            newest, checked, problems = audit(name, version)
        except requests.RequestException as error:
            print(f"{name:26} {version:10} NOT CHECKED ({error})")
            failed = True
            continue
        verdict = "; ".join(problems) if problems else "ok"
        failed = failed or bool(problems)
        print(f"{name:26} {version:10} newest {newest:10} {checked:32} {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
