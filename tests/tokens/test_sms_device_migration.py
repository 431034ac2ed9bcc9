"""Migration tokens/0009 merges the duplicate SMS devices parallel confirmations once made."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("tokens", "0008_hardware_token_names")]
AFTER = [("tokens", "0009_smsdevice_one_per_user")]


def test_duplicates_are_merged_into_the_oldest_device():
    budi, siti = UserFactory(user_id="budi"), UserFactory(user_id="siti")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps.get_model("tokens", "SMSDevice")
        kept = old.objects.create(user_id=budi.pk, name="SMS", confirmed=True)
        for _ in range(4):
            old.objects.create(user_id=budi.pk, name="SMS", confirmed=True)
        other = old.objects.create(user_id=siti.pk, name="SMS", confirmed=True)
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("tokens", "SMSDevice")
    assert list(new.objects.filter(user_id=budi.pk).values_list("pk", flat=True)) == [kept.pk]
    assert new.objects.filter(user_id=siti.pk).get().pk == other.pk
