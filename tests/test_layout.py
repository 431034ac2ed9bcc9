"""Dependencies point one way: corporate -> payments -> tokens -> accounts (DESIGN.md,
"Layout"). The models and services of a lower app import nothing of a higher one, no model
holds a foreign key up the order, and the accounts admin shows other apps' records only through what they register."""

import ast
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["accounts", "tokens", "payments", "corporate"]  # lowest first
LOWER_LAYERS = [
    "models.py",
    "services.py",
    "selectors.py",
    "exceptions.py",
    "hardware.py",
    "sms.py",
]


def imported_apps(path: Path) -> set[str]:
    """Top-level packages a module imports, wherever the import stands (also inside a function)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def higher(app: str) -> set[str]:
    return set(ORDER[ORDER.index(app) + 1 :])


@pytest.mark.parametrize("app", ORDER[:-1])
def test_models_and_services_import_nothing_from_a_higher_app(app):
    paths = [ROOT / app / name for name in LOWER_LAYERS] + sorted(
        (ROOT / app).glob("hardware/*.py")
    )
    for path in paths:
        if path.exists():
            assert not imported_apps(path) & higher(app), path.relative_to(ROOT)


def test_the_accounts_admin_imports_no_higher_app():
    for name in ["admin.py", "admin_site.py"]:
        path = ROOT / "accounts" / name
        if path.exists():
            assert not imported_apps(path) & higher("accounts"), name


@pytest.mark.parametrize("app", ORDER[:-1])
def test_no_model_points_up_the_order(app):
    for model in apps.get_app_config(app).get_models():
        for field in model._meta.get_fields():
            if field.is_relation and field.concrete and field.related_model is not None:
                target = field.related_model._meta.app_label
                assert target not in higher(app), f"{model.__name__}.{field.name} -> {target}"


def test_the_admin_site_is_the_staff_site_by_django_s_own_setting():
    """AdminConfig.default_site, not a class swapped in by the URL configuration."""
    from django.contrib import admin

    from accounts.admin_site import StaffAdminSite

    assert apps.get_app_config("admin").default_site == "accounts.admin_site.StaffAdminSite"
    assert type(admin.site._wrapped) is StaffAdminSite and admin.site.name == "admin"
    assert "__class__" not in (ROOT / "portal" / "urls.py").read_text()
