from decimal import Decimal

import factory

from accounts.models import User
from payments.models import BankAccount

PASSWORD = "Rahasia-Uji-2026"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    user_id = factory.Sequence(lambda n: f"nasabah{n:04d}")
    full_name = factory.Sequence(lambda n: f"Nasabah Uji {n}")
    birth_date = "1988-08-17"
    phone = factory.Sequence(lambda n: f"+62812{n:08d}")
    # A corporate User ID is stored as "<CORPORATE ID>:<User ID>": no ":" in an address.
    email = factory.LazyAttribute(lambda u: f"{u.user_id.replace(':', '.').lower()}@example.co.id")
    cif = factory.Sequence(lambda n: f"CIF{n:07d}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class BankAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BankAccount

    number = factory.Sequence(lambda n: f"{3000000000 + n}")
    owner = factory.SubFactory(UserFactory)
    balance = Decimal("10000000.00")
