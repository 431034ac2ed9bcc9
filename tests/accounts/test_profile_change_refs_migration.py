"""Migration accounts/0013 keeps the challenges of changes in flight: the foreign keys to
tokens.Challenge become opaque ids with the same values."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("accounts", "0012_profile_change_refused")]


def test_challenge_links_become_references_with_the_same_ids():
    budi = UserFactory(user_id="budi")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        state = executor.loader.project_state(BEFORE).apps
        Challenge = state.get_model("tokens", "Challenge")
        ProfileChange = state.get_model("accounts", "ProfileChange")
        now = timezone.now()
        current, new = (
            Challenge.objects.create(
                id=uuid.uuid4(), user_id=budi.pk, purpose=purpose, intent_digest="x" * 64,
                salt="s", expires_at=now + timedelta(minutes=5),
            )
            for purpose in ("phone_change", "phone_verify")
        )
        both = ProfileChange.objects.create(
            user_id=budi.pk, kind="phone", new_phone="+6281311112222", state="awaiting_new",
            current_challenge_id=current.pk, new_challenge_id=new.pk,
        )
        none = ProfileChange.objects.create(
            user_id=budi.pk, kind="email", new_email="b@example.com", state="voided"
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    from accounts.models import ProfileChange as Latest

    migrated = Latest.objects.get(pk=both.pk)
    assert (migrated.current_challenge_ref, migrated.new_challenge_ref) == (current.pk, new.pk)
    assert Latest.objects.get(pk=none.pk).current_challenge_ref is None
