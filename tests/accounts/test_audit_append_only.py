"""The audit log is append-only in the database itself (migration accounts/0008), not only in
the admin: an UPDATE or DELETE is refused with IntegrityError on SQLite and PostgreSQL,
through the ORM and through raw SQL, while INSERT goes on working."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from accounts import services
from accounts.models import AuditEvent
from tests.conftest import needs_postgres
from tests.factories import UserFactory


@pytest.fixture
def event(db):
    user = UserFactory(user_id="andi")
    return services.audit_log(
        action=AuditEvent.Action.LOGIN, subject=user, actor=user, ip="192.0.2.1"
    )


def _refused(operation):
    """Run ``operation`` in a savepoint; the database must refuse it with IntegrityError."""
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        operation()
    assert "accounts_auditevent_append_only" in str(refused.value)


def test_orm_update_is_refused(event):
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten"))
    event.reason = "rewritten"
    _refused(lambda: event.save())
    event.refresh_from_db()
    assert event.reason == ""


def test_orm_delete_is_refused(event):
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).delete())
    _refused(lambda: event.delete())
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_raw_sql_update_and_delete_are_refused(event):
    def update():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE accounts_auditevent SET ip_address = %s WHERE id = %s",
                ["203.0.113.9", event.pk],
            )

    def delete_all():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM accounts_auditevent")

    _refused(update)
    _refused(delete_all)
    event.refresh_from_db()
    assert event.ip_address == "192.0.2.1"


def test_insert_still_works(event):
    services.audit_log(action=AuditEvent.Action.LOGOUT, subject=event.subject, ip="192.0.2.1")
    assert AuditEvent.objects.count() == 2


def test_a_user_with_audit_events_is_not_deleted(event):
    """Customers are deactivated, never deleted: their audit trail stays (on_delete=PROTECT)."""
    with pytest.raises(ProtectedError), transaction.atomic():
        event.subject.delete()
    assert AuditEvent.objects.filter(pk=event.pk, subject=event.subject).exists()


@pytest.mark.django_db(transaction=True)
def test_flush_still_empties_the_log():
    """``flush`` (how transactional tests clean up) empties the table on both databases:
    PostgreSQL's TRUNCATE fires no row trigger, and on SQLite accounts' ``flush`` sets the
    triggers aside for the flush and puts them back in the same transaction."""
    user = UserFactory(user_id="andi")
    services.audit_log(action=AuditEvent.Action.LOGIN, subject=user)
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    UserFactory(user_id="budi")
    event = services.audit_log(action=AuditEvent.Action.LOGIN)
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).delete())


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_truncate_is_refused_on_postgresql():
    """TRUNCATE fires no row trigger: a statement trigger refuses it (an outsider emptied the
    log with one TRUNCATE). SQLite has no TRUNCATE. Committed rows, as in the outsider's try
    (a TRUNCATE right after an insert in the same transaction is refused for another reason)."""
    user = UserFactory(user_id="andi")
    event = services.audit_log(action=AuditEvent.Action.LOGIN, subject=user, actor=user)

    def truncate():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE accounts_auditevent")

    _refused(truncate)
    assert AuditEvent.objects.filter(pk=event.pk).exists()
