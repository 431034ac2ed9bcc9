"""Django's database sessions with ``accounts.sessions.LeanSaveMixin``."""

from django.contrib.sessions.backends import db

from . import LeanSaveMixin


class SessionStore(LeanSaveMixin, db.SessionStore):
    pass
