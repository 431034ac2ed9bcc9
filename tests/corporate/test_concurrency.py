"""Races on PostgreSQL with real threads: two submissions at once give one open request; two
supervisors approving at once apply the change once."""

import threading

import pytest
from django.db import connection

from accounts.models import AuditEvent, User
from corporate import exceptions, services
from corporate.models import CorporateRequest
from tests.conftest import needs_postgres
from tests.corporate.conftest import NEW_PHONE, form_data, staff, upload

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


def run_parallel(target, args_list):
    barrier, results = threading.Barrier(len(args_list)), []

    def run(*args):
        try:
            barrier.wait()
            results.append(target(*args))
        except Exception as error:  # noqa: BLE001 (the test counts the refusals)
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=args) for args in args_list]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_parallel_submissions_give_one_open_request(rudi):
    def submit():
        user = User.objects.get(pk=rudi.pk)
        return services.request_submit(user=user, kind="token_replacement", data=form_data(user))

    results = run_parallel(submit, [(), ()])
    assert sorted(type(r).__name__ for r in results) == ["CorporateRequest", "OpenRequestExists"]
    assert CorporateRequest.objects.count() == 1


def test_two_supervisors_approving_at_once_apply_it_once(rudi):
    officer = staff("cabang01", "branch")[0]
    bosses = [staff(f"kepala0{i}", "supervisor")[0] for i in (1, 2)]
    item = services.request_submit(
        user=rudi,
        kind="token_replacement",
        data=form_data(rudi, phone=NEW_PHONE),
        document=upload(),
    )
    services.request_approve(corporate_request=item, actor=officer)

    def approve(boss):
        return services.request_approve(
            corporate_request=CorporateRequest.objects.get(pk=item.pk), actor=boss
        )

    results = run_parallel(approve, [(boss,) for boss in bosses])
    assert sorted(type(r).__name__ for r in results) == ["CorporateRequest", "RequestNotInStep"]
    assert isinstance(
        next(r for r in results if isinstance(r, Exception)), exceptions.RequestNotInStep
    )
    assert AuditEvent.objects.filter(action="phone_changed").count() == 1
    assert AuditEvent.objects.filter(action="corporate_request_supervised").count() == 1
    rudi.refresh_from_db()
    assert str(rudi.phone) == NEW_PHONE and rudi.confirmation_method == "sms"
