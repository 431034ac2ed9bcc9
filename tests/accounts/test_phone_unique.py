"""One phone number, one customer: the database refuses a shared number, the services say so."""

import threading

import pytest
from django.db import IntegrityError, transaction

from accounts import exceptions, services
from accounts.models import AuditEvent, ProfileChange, User
from tests.conftest import needs_postgres
from tests.factories import UserFactory
from tests.payments.test_concurrency import run_at_once
from tokens import services as otp_services

NEW = "+6281311112222"


def awaiting_new(user, new_phone=NEW):
    """A phone change whose step 1 is done: only the code sent to ``new_phone`` is missing."""
    return ProfileChange.objects.create(
        user=user,
        kind=ProfileChange.Kind.PHONE,
        new_phone=new_phone,
        state=ProfileChange.State.AWAITING_NEW,
    )


@pytest.fixture
def check_passes(monkeypatch):
    """The application check sees no other holder, as when a parallel request has not
    committed yet; only the database is left to refuse the shared number."""
    monkeypatch.setattr(services, "phone_available_check", lambda *, user, phone: None)


@pytest.mark.django_db
def test_database_refuses_a_number_another_user_holds(customer, other_customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=other_customer.pk).update(phone=customer.phone)
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(phone=customer.phone)


@pytest.mark.django_db
def test_users_without_a_phone_may_be_many(customer):
    first, second = UserFactory(phone=""), UserFactory(phone="")
    User.objects.filter(pk=customer.pk).update(phone="")
    assert User.objects.filter(phone="", pk__in=[first.pk, second.pk, customer.pk]).count() == 3


@pytest.mark.django_db
def test_customer_path_turns_the_refusal_into_phone_not_available(
    customer, other_customer, check_passes
):
    change = awaiting_new(customer, new_phone=str(other_customer.phone))
    with transaction.atomic():
        with pytest.raises(exceptions.PhoneNotAvailable):
            otp_services.phone_number_change(
                user=customer, new_phone=change.new_phone, actor=customer, reason="customer",
                profile_change=change,
            )
        # The transaction around the call is still usable (the OTP verification's, in a view).
        assert User.objects.filter(phone=str(other_customer.phone)).count() == 1
    customer.refresh_from_db()
    assert str(customer.phone) == "+6281234565678"
    assert ProfileChange.objects.get(pk=change.pk).state == ProfileChange.State.AWAITING_NEW
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PHONE_CHANGED).exists()


@pytest.mark.django_db
def test_staff_path_turns_the_refusal_into_phone_not_available(
    customer, other_customer, check_passes
):
    staff, _device = services.staff_create(
        user_id="staf-cabang", full_name="Staf Cabang", password="Rahasia-Uji-2026", role="branch"
    )
    with transaction.atomic():
        with pytest.raises(exceptions.PhoneNotAvailable):
            otp_services.phone_number_change(
                user=customer,
                new_phone=str(other_customer.phone),
                actor=staff,
                reason="KTP checked at the branch",
            )
        assert User.objects.filter(phone=str(other_customer.phone)).count() == 1
    customer.refresh_from_db()
    assert str(customer.phone) == "+6281234565678"
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PHONE_CHANGED).exists()


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_customers_completing_a_change_to_one_number_at_once(
    customer, other_customer, monkeypatch
):
    changes = [awaiting_new(customer), awaiting_new(other_customer)]
    # Both requests pass the real check before either writes: the window the bug lived in,
    # opened every time instead of by luck.
    real_check, both_checked = services.phone_available_check, threading.Barrier(2)

    def check_then_wait(*, user, phone):
        real_check(user=user, phone=phone)
        both_checked.wait(timeout=20)

    monkeypatch.setattr(services, "phone_available_check", check_then_wait)

    def complete(i):
        change = ProfileChange.objects.select_related("user").get(pk=changes[i].pk)
        return otp_services.phone_number_change(
            user=change.user, new_phone=change.new_phone, actor=change.user, reason="customer",
            profile_change=change,
        )

    results = run_at_once(2, complete)

    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1, results
    assert isinstance(errors[0], exceptions.PhoneNotAvailable), errors
    assert User.objects.filter(phone=NEW).count() == 1
    assert ProfileChange.objects.filter(state=ProfileChange.State.COMPLETED).count() == 1
