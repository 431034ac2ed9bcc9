"""What a failed login leaves behind: the User ID only when it names a user, otherwise a keyed
hash (a password typed into the User ID field must not end up in the audit log, in axes'
tables or in the log)."""

import hashlib
import logging

from axes.models import AccessAttempt, AccessLog

from accounts import services
from accounts.models import AuditEvent
from tests.factories import PASSWORD

TYPED_SECRET = "Rahasia-Sekali-2026"


def login(client, user_id, password):
    return client.post("/login/", {"username": user_id, "password": password})


def _stored_anywhere(text: str) -> list[str]:
    """Every stored row that holds ``text`` in any form of case."""
    needle = text.lower()
    found = [
        f"audit {event.pk}: {event.data}"
        for event in AuditEvent.objects.all()
        if needle in str(event.data).lower() or needle in event.reason.lower()
    ]
    for model in (AccessAttempt, AccessLog):
        for row in model.objects.values():
            if needle in str(row).lower():
                found.append(f"{model.__name__}: {row}")
    return found


def test_a_secret_typed_as_user_id_is_stored_nowhere(client, customer, caplog):
    caplog.set_level(logging.DEBUG)
    assert login(client, TYPED_SECRET, "anything").status_code == 200
    assert _stored_anywhere(TYPED_SECRET) == []
    assert TYPED_SECRET.lower() not in caplog.text.lower()
    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_FAILED)
    assert event.subject is None
    assert event.data["user_id"] == services.login_user_id_key(TYPED_SECRET)


def test_the_key_of_an_unknown_user_id_is_keyed_and_stable():
    key = services.login_user_id_key(TYPED_SECRET)
    assert key.startswith("#") and TYPED_SECRET.lower() not in key.lower()
    # The same typing (any case, spaces around) gives the same key: attempts stay linked.
    assert services.login_user_id_key(f"  {TYPED_SECRET.upper()} ") == key
    # Keyed (not a bare hash anyone can compute from a password list).
    plain = hashlib.sha256(TYPED_SECRET.lower().encode()).hexdigest()
    assert key[1:] not in plain


def test_a_known_user_id_is_stored_as_the_user(client, customer):
    login(client, " BUDI ", "salah-sekali")
    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_FAILED)
    assert event.subject == customer
    assert event.data["user_id"] == "budi"
    assert AccessAttempt.objects.filter(username="budi").exists()


def test_an_unknown_user_id_locks_without_being_stored(client, customer):
    tries = 5
    for _ in range(tries):
        login(client, TYPED_SECRET, "salah-sekali")
    locked = login(client, TYPED_SECRET, PASSWORD)
    assert locked.status_code == 403
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_LOCKED).exists()
    assert _stored_anywhere(TYPED_SECRET) == []
    # axes counts the key, so unknown User IDs still lock the same way as known ones.
    key = services.login_user_id_key(TYPED_SECRET)
    assert AccessAttempt.objects.get(username=key).failures_since_start >= tries
