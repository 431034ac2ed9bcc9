"""Session engines of the portal: Django's ``db`` and ``cached_db`` with fewer round trips.

``SESSION_ENGINE`` names ``accounts.sessions.db`` or ``accounts.sessions.cached_db``; both keep
the data, the table and the cache keys of Django's engines. What changes (``LeanSaveMixin``):

* A write is one statement. Django wraps each session write in its own transaction
  (BEGIN, INSERT or UPDATE, COMMIT: three round trips); one statement in autocommit is
  already atomic, so a savepoint is used only inside an outer transaction.
* ``cycle_key`` (at login and after each OTP verification) picks the new key and deletes the
  old row with one DELETE; the new row is INSERTed once, by the save at the end of the
  request (``must_create``: a key that exists already fails there, never overwrites).
  Django's own checks the new key with a SELECT, INSERTs the row, reads the old row, deletes
  it, then UPDATEs the new row at the end of the request: ten round trips instead of two.
"""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.utils.crypto import get_random_string


class LeanSaveMixin:
    _must_create = False

    def cycle_key(self):
        data = self._session
        key = self.session_key
        # 32 characters of 36: a collision is not expected in the life of the universe, and
        # the INSERT at the end of the request refuses one anyway (CreateError).
        self._session_key = get_random_string(32, VALID_KEY_CHARS)
        self._session_cache = data
        self._must_create = True
        self.modified = True
        if key:
            self.delete(key)

    def save(self, must_create=False):
        must_create = must_create or self._must_create
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        obj = self.create_model_instance(data)
        using = router.db_for_write(self.model, instance=obj)
        try:
            if connections[using].in_atomic_block:
                with transaction.atomic(using=using):  # a savepoint: the outer one goes on
                    self._write(obj, using=using, must_create=must_create)
            else:
                self._write(obj, using=using, must_create=must_create)
        except IntegrityError:
            if must_create:
                raise CreateError from None
            raise
        except DatabaseError:
            if not must_create:
                raise UpdateError from None
            raise
        self._must_create = False

    @staticmethod
    def _write(obj, *, using, must_create):
        obj.save(force_insert=must_create, force_update=not must_create, using=using)

    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        # One DELETE, no transaction around it (Django's reads the row first, then deletes it
        # by primary key; QuerySet.delete() would wrap the one statement in BEGIN/COMMIT).
        rows = self.model.objects.filter(session_key=session_key)
        rows._raw_delete(using=router.db_for_write(self.model))
