from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from accounts.services import user_language_set
from payments import selectors


def home(request):
    return redirect("portal:dashboard" if request.user.is_authenticated else "accounts:login")


@never_cache
@login_required
def dashboard(request):
    """The customer's accounts, each with its last five movements (money in and out)."""
    accounts = list(selectors.customer_accounts(user=request.user))
    recent = selectors.recent_movements(user=request.user, per_account=5)
    for account in accounts:
        account.recent_movements = recent.get(account.pk, [])
    return render(
        request,
        "portal/dashboard.html",
        {
            "accounts": accounts,
            "approvals_waiting": selectors.approvals_waiting_count(user=request.user),
        },
    )


@require_POST
def language_set(request):
    """Django's ``set_language``; a logged-in customer's SMS follow the choice too."""
    response = set_language(request)
    if request.user.is_authenticated:
        user_language_set(user=request.user, language=request.POST.get("language", ""))
    return response
