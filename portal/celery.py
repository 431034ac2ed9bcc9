"""The Celery app: configured from Django settings (``CELERY_*``), tasks autodiscovered.

A task queued while a request runs carries the request's id (a ``request_id`` message header),
and the worker logs what the task does under that id (``portal.logs``).
"""

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

from portal.logs import request_id_bind, request_id_current

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@before_task_publish.connect
def _request_id_send(headers=None, **kwargs):
    request_id = request_id_current()
    if request_id and headers is not None:
        headers["request_id"] = request_id


@task_prerun.connect
def _request_id_receive(task=None, **kwargs):
    # A task run eagerly (development, tests) runs inside the request and keeps its id.
    if task is not None and not task.request.is_eager:
        request_id_bind(getattr(task.request, "request_id", None))


@task_postrun.connect
def _request_id_end(task=None, **kwargs):
    if task is not None and not task.request.is_eager:
        request_id_bind(None)
