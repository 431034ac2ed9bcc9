"""Reads of corporate requests used by pages."""

import re

from django.http import Http404

from tokens.models import HardwareToken

from .models import CorporateRequest


def requests_of_company(*, user):
    """The requests of the user's company, newest first (a company's users see each other's)."""
    return (
        CorporateRequest.objects.filter(company_id=user.company_id)
        .select_related("user")
        .order_by("-submitted_at", "-pk")
    )


def request_of_company(*, user, reference: str) -> CorporateRequest:
    """One request of the user's company named by its reference (``PGJ-000123``); Http404 for
    another company's, or for anything else."""
    match = re.fullmatch(r"PGJ-([0-9]{6,12})", reference or "")
    found = None
    if match and user.company_id is not None:
        found = requests_of_company(user=user).filter(pk=int(match.group(1))).first()
    # One spelling per request: "PGJ-0000001" names nothing.
    if found is None or found.reference != reference:
        raise Http404
    return found


def customer_message(corporate_request: CorporateRequest) -> dict | None:
    """The bank's message as the company's users read it, with its date: the staff's word of
    the current step (a correction asked, a rejection, an approval); after a correction is
    resubmitted, the correction's message labelled as the earlier one; else nothing (a message
    an officer wrote while a supervisor still has to decide is not the bank's last word)."""
    item, status = corporate_request, CorporateRequest.Status
    if not item.staff_message:
        return None
    when = {
        status.NEEDS_CORRECTION: item.returned_at,
        status.REJECTED: item.rejected_at,
        status.APPROVED: item.approved_at,
    }
    if item.status in when:
        return {"text": item.staff_message, "at": when[item.status], "earlier": False}
    if item.status == status.SUBMITTED and item.resubmitted_at and item.returned_at:
        return {"text": item.staff_message, "at": item.returned_at, "earlier": True}
    return None


def fallback_ended_at(corporate_request: CorporateRequest):
    """When the SMS OTP fallback an approved token replacement gave ended: the activation of
    a token of the user's after the approval (``token_activate`` switches back and tells the
    user), else None."""
    if (
        corporate_request.kind != CorporateRequest.Kind.TOKEN_REPLACEMENT
        or corporate_request.status != CorporateRequest.Status.APPROVED
        or corporate_request.approved_at is None
    ):
        return None
    token = (
        HardwareToken.objects.filter(
            user_id=corporate_request.user_id, activated_at__gt=corporate_request.approved_at
        )
        .order_by("activated_at")
        .first()
    )
    return token.activated_at if token else None
