"""Mutasi Rekening: a customer's account statement on a page, as CSV and as a PDF e-statement.

Only the logged-in customer's own accounts: another account number answers 404, exactly as a
number that does not exist. Downloads are audited.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from accounts import services as account_services
from accounts.models import AuditEvent
from accounts.views import client_ip
from portal.formatting import account_masked

from . import selectors, statement_export
from .forms import StatementRangeForm


class StatementIndexView(LoginRequiredMixin, View):
    """The menu's "Mutasi Rekening": the statement of the customer's first account."""

    def get(self, request):
        account = selectors.customer_accounts(user=request.user).first()
        if account is None:
            return render(request, "payments/statement_none.html")
        return redirect("payments:statement", number=account.number)


class StatementMixin:
    """The account (the customer's own, or 404) and the period asked for in the query."""

    def account_get(self):
        return get_object_or_404(
            selectors.customer_accounts(user=self.request.user), number=self.kwargs["number"]
        )

    def range_form(self) -> StatementRangeForm:
        query = self.request.GET
        asked = "start" in query or "end" in query
        return StatementRangeForm(query if asked else {})

    @staticmethod
    def range_query(form: StatementRangeForm) -> str:
        return urlencode(
            {
                "start": f"{form.cleaned_data['start']:%d/%m/%Y}",
                "end": f"{form.cleaned_data['end']:%d/%m/%Y}",
            }
        )


@method_decorator(never_cache, name="dispatch")
class StatementView(LoginRequiredMixin, StatementMixin, TemplateView):
    template_name = "payments/statement.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        account = self.account_get()
        form = self.range_form()
        context.update(
            account=account,
            accounts=selectors.customer_accounts(user=self.request.user),
            form=form,
        )
        if not form.is_valid():
            return context
        # The fields show the period actually shown (also when left empty: the default).
        form.data = {
            "start": f"{form.cleaned_data['start']:%d/%m/%Y}",
            "end": f"{form.cleaned_data['end']:%d/%m/%Y}",
        }
        statement = selectors.statement_get(
            account=account, date_from=form.cleaned_data["start"], date_to=form.cleaned_data["end"]
        )
        page = Paginator(statement.entries, settings.STATEMENT_PAGE_SIZE).get_page(
            self.request.GET.get("page")
        )
        query = self.range_query(form)
        number = account.number
        context.update(
            statement=statement,
            page_obj=page,
            is_paginated=page.has_other_pages(),
            movements=selectors.movements(page.object_list),
            page_query=query,
            csv_url=f"{reverse('payments:statement-csv', kwargs={'number': number})}?{query}",
            pdf_url=f"{reverse('payments:statement-pdf', kwargs={'number': number})}?{query}",
        )
        return context


@method_decorator(never_cache, name="dispatch")
class StatementDownloadView(LoginRequiredMixin, StatementMixin, View):
    """The shown period as a file. A period the form refuses goes back to the page, which
    says why."""

    extension = ""
    content_type = ""

    def render_file(self, statement) -> bytes:
        raise NotImplementedError

    def get(self, request, number):
        account = self.account_get()
        form = self.range_form()
        if not form.is_valid():
            url = reverse("payments:statement", kwargs={"number": account.number})
            return redirect(f"{url}?{request.GET.urlencode()}")
        statement = selectors.statement_get(
            account=account, date_from=form.cleaned_data["start"], date_to=form.cleaned_data["end"]
        )
        body = self.render_file(statement)
        account_services.audit_log(
            action=AuditEvent.Action.STATEMENT_DOWNLOADED,
            subject=request.user,
            actor=request.user,
            ip=client_ip(request),
            data={
                "account": account_masked(account.number),
                "from": statement.date_from.isoformat(),
                "to": statement.date_to.isoformat(),
                "format": self.extension,
            },
        )
        response = HttpResponse(body, content_type=self.content_type)
        filename = statement_export.statement_filename(statement, self.extension)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class StatementCsvView(StatementDownloadView):
    extension = "csv"
    content_type = "text/csv; charset=utf-8"

    def render_file(self, statement) -> bytes:
        return statement_export.statement_csv(statement)


class StatementPdfView(StatementDownloadView):
    extension = "pdf"
    content_type = "application/pdf"

    def render_file(self, statement) -> bytes:
        # The account's holder (a company's account is the company's); a company's statement
        # also says which of its users printed it.
        account = statement.account
        return statement_export.statement_pdf(
            statement,
            holder_name=account.holder_name,
            printed_by=self.request.user.full_name if account.company_id else "",
        )
