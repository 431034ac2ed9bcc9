"""No page is kept by a browser or a proxy: every URL pattern of the portal (the admin too),
filled with real objects of the logged-in customer, answers with ``Cache-Control: no-store``,
as does the login page. A new URL pattern with a parameter this walk cannot fill fails here
until the walk learns it."""

import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import get_resolver, reverse

from accounts import services as account_services
from accounts.models import User
from payments import services as payment_services
from payments.models import BankAccount
from tests.factories import PASSWORD
from tests.security.hostile import walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(customer, other_customer):
    """One real object of the customer for each kind of URL parameter."""
    source = BankAccount.objects.get(number="1001000011")
    destination = BankAccount.objects.get(number="1002000017")
    transfer = payment_services.transfer_create(
        user=customer, source=source, destination=destination, amount=Decimal("150000"),
        description="uji",
    )
    payee = payment_services.payee_create(user=customer, account=destination, nickname="Siti")
    phone_change = account_services.phone_change_create(user=customer, new_phone="+6281311112222")
    email_change = account_services.email_change_create(user=customer, new_email="baru@example.com")
    password_change = account_services.password_change_create(user=customer, password_hash="x")
    return {
        "transfer": transfer,
        "payee": payee,
        "phone_change": phone_change,
        "email_change": email_change,
        "password_change": password_change,
    }


def fill(name, params, objects, customer):
    """The kwargs for ``reverse(name)``, from the customer's own objects."""
    kwargs = {}
    for param in params:
        if param == "reference":
            kwargs[param] = objects["transfer"].reference
        elif param == "pk" and name.startswith("payments:payee-"):
            kwargs[param] = objects["payee"].pk
        elif param == "pk" and name.startswith("accounts:phone-change"):
            kwargs[param] = objects["phone_change"].pk
        elif param == "pk" and name.startswith("accounts:email-change"):
            kwargs[param] = objects["email_change"].pk
        elif param == "pk" and name.startswith("accounts:password-change"):
            kwargs[param] = objects["password_change"].pk
        elif param == "token":
            kwargs[param] = account_services.email_change_link_token(change=objects["email_change"])
        elif param == "app_label":
            kwargs[param] = "accounts"
        elif param == "object_id" and name.startswith("admin:"):
            kwargs[param] = admin_object_pk(name, customer)
        elif param == "content_type_id":
            kwargs[param] = ContentType.objects.get_for_model(User).pk
        elif param == "url":
            kwargs[param] = "no-such-page/"
        elif param == "number":  # Mutasi Rekening: the customer's own account
            kwargs[param] = "1001000011"
        else:
            raise AssertionError(f"teach this test to fill {param!r} of {name!r}")
    return kwargs


def admin_object_pk(name, customer):
    """An existing object of the model an admin URL name is about (the customer for users)."""
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix):
            if model is User:
                return str(customer.pk)
            first = model._default_manager.order_by("pk").first()
            return str(first.pk) if first else "1"
    return str(customer.pk)  # admin:view_on_site


def unnamed_url(route, params, customer):
    """An unnamed pattern: the admin's "<path:object_id>/" redirects, or a plain path."""
    url = "/" + route.lstrip("^").rstrip("$")
    if not params:
        return url
    if params == ["url"]:  # the admin's catch-all
        return url.replace("(?P<url>.*)", "no-such-page/")
    assert params == ["object_id"] and url.startswith("/admin/"), f"teach this test {route!r}"
    app_label, model_name = url.split("/")[2:4]
    name = f"admin:{app_label}_{model_name}_change"
    return re.sub(r"<path:object_id>", admin_object_pk(name, customer), url)


def all_urls(objects, customer):
    urls = []
    for name, params, route in walk(get_resolver().url_patterns):
        if name is None:
            urls.append(unnamed_url(route, params, customer))
        else:
            urls.append(reverse(name, kwargs=fill(name, params, objects, customer)))
    return sorted(set(urls))


def assert_no_store(client, urls):
    missing = {}
    for url in urls:
        response = client.get(url)
        if "no-store" not in response.get("Cache-Control", ""):
            missing[url] = (response.status_code, response.get("Cache-Control"))
    assert missing == {}


def test_every_page_of_a_logged_in_customer_is_no_store(customer_client, customer, objects):
    urls = all_urls(objects, customer)
    for expected in ("/transfers/", f"/transfers/{objects['transfer'].reference}/", "/payees/"):
        assert expected in urls
    assert_no_store(customer_client, urls)


def test_every_page_of_a_member_of_staff_is_no_store(customer, objects):
    from tests.accounts.test_admin import staff_client

    client, _staff = staff_client("supervisor")
    assert client.get("/admin/accounts/user/").status_code == 200
    assert_no_store(client, all_urls(objects, customer))


def test_the_login_page_is_no_store(client, customer):
    assert "no-store" in client.get("/login/")["Cache-Control"]
    refused = client.post("/login/", {"username": "budi", "password": "salah-sekali"})
    assert refused.status_code == 200 and "no-store" in refused["Cache-Control"]
    logged_in = Client()
    response = logged_in.post("/login/", {"username": "budi", "password": PASSWORD})
    assert response.status_code == 302 and "no-store" in response["Cache-Control"]
