"""Django's cached database sessions with ``accounts.sessions.LeanSaveMixin``."""

import logging

from django.contrib.sessions.backends import cached_db

from . import LeanSaveMixin

logger = logging.getLogger("django.contrib.sessions")


class SessionStore(LeanSaveMixin, cached_db.SessionStore):
    def save(self, must_create=False):
        LeanSaveMixin.save(self, must_create)
        try:
            self._cache.set(self.cache_key, self._session, self.get_expiry_age())
        except Exception:
            logger.exception("Error saving to cache (%s)", self._cache)

    def delete(self, session_key=None):
        LeanSaveMixin.delete(self, session_key)
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self._cache.delete(self.cache_key_prefix + session_key)
