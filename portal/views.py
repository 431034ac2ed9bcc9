from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from accounts.services import user_language_set
from payments.models import BankAccount, Transfer


def home(request):
    return redirect("portal:dashboard" if request.user.is_authenticated else "accounts:login")


@never_cache
@login_required
def dashboard(request):
    accounts = BankAccount.objects.filter(owner=request.user)
    recent = Transfer.objects.filter(
        initiated_by=request.user, status=Transfer.Status.COMPLETED
    ).select_related("source", "destination__owner")[:5]
    return render(request, "portal/dashboard.html", {"accounts": accounts, "recent": recent})


@require_POST
def language_set(request):
    """Django's ``set_language``; a logged-in customer's SMS follow the choice too."""
    response = set_language(request)
    if request.user.is_authenticated:
        user_language_set(user=request.user, language=request.POST.get("language", ""))
    return response
