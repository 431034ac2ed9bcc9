"""A speed reading of the machine for Django-shaped work: CPU seconds to build 1,000 ORM
queries' SQL and render a template 100 times (Django's own models and an inline template, so
the reading does not move when the portal's code does); the best of three rounds.

Run as a child process by ``bench.common.machine()``; alone: ``python -m bench.speed``.
A pure-Python loop was tried first and does not track it: on one day the loop read 0.4-0.6 s
while the same commit's transfer cost 3.4 times what it had cost on an earlier machine.
"""

import time

import django
from django.conf import settings


def reading(rounds: int = 3) -> float:
    from django.contrib.auth.models import Permission
    from django.template import engines

    template = engines["django"].from_string(
        "{% for item in items %}<li class='{{ item|lower }}'>{{ item|upper }} "
        "{{ item|length }}</li>{% endfor %}"
    )
    items = [f"Item {i}" for i in range(50)]
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(1000):
            str(
                Permission.objects.select_related("content_type")
                .filter(codename="view_x", content_type__app_label="x")
                .order_by("pk")
                .query
            )
        for _ in range(100):
            template.render({"items": items})
        best = min(best, time.process_time() - started)
    return best


if __name__ == "__main__":
    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
        USE_TZ=True,
    )
    django.setup()
    print(f"{reading():.3f}")
