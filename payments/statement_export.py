"""A statement (``selectors.Statement``) written as a file the customer downloads: CSV for a
spreadsheet, PDF (reportlab) as the bank's e-statement. Both list the period oldest first, as a
printed statement reads (opening balance above, closing balance below); text in the active
language, amounts in Rupiah.
"""

import csv
import io
import re
from datetime import datetime
from functools import cache, partial
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from portal.formatting import account_masked, rupiah

from .selectors import Statement, movements

BANK_NAME = "Bank Nusantara"
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_DELIMITER = ";"
AFTER_SEPARATOR = re.compile(r"([,;]\s*)(?=[=+\-@\t\r])")


def statement_filename(statement: Statement, extension: str) -> str:
    """``mutasi-1001000011-20261101-20261130.csv``"""
    return (
        f"mutasi-{statement.account.number}-{statement.date_from:%Y%m%d}-"
        f"{statement.date_to:%Y%m%d}.{extension}"
    )


def cell_safe(value) -> str:
    """Text a spreadsheet shows as text: a cell that would start a formula gets a leading
    apostrophe (OWASP's advice against CSV injection)."""
    text = str(value)
    # A spreadsheet that splits the line on another separator than ours would start a cell
    # after any "," or ";": what could start a formula there is neutralised too.
    text = AFTER_SEPARATOR.sub(r"\1'", text)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _when(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%d/%m/%Y %H:%M:%S}"


def _money(amount) -> str:
    return rupiah(amount) if amount is not None else ""


def statement_csv(statement: Statement) -> bytes:
    """One header row, then one row per movement, oldest first. UTF-8 with a byte order mark,
    so that spreadsheet programs read names and descriptions right."""
    buffer = io.StringIO()
    # ";" is the list separator of spreadsheets set up for Indonesia (whose decimal mark is
    # ","), and every cell is quoted: a ";" or "," inside a description (which the sender of a
    # transfer writes) can never start a new cell, and so never a formula cell.
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, quoting=csv.QUOTE_ALL)
    writer.writerow(
        [
            _("Date and time (WIB)"), _("Description"), _("Counterparty"),
            _("Counterparty account"), _("Reference"), _("Debit"), _("Credit"), _("Balance"),
        ]
    )
    for line in movements(statement.entries_oldest_first):
        writer.writerow(
            cell_safe(value)
            for value in (
                _when(line.created_at),
                line.description or line.kind,
                line.counterparty_name,
                account_masked(line.counterparty_number),
                line.reference,
                _money(line.debit),
                _money(line.credit),
                rupiah(line.balance_after),
            )
        )
    return buffer.getvalue().encode("utf-8-sig")


@cache
def _fonts() -> tuple[str, str]:
    """DejaVu Sans where the system has it (every script a name may be written in), else
    reportlab's built-in Helvetica (Latin only)."""
    folder = Path("/usr/share/fonts/truetype/dejavu")
    regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
    if regular.exists() and bold.exists():
        pdfmetrics.registerFont(TTFont("PortalSans", str(regular)))
        pdfmetrics.registerFont(TTFont("PortalSans-Bold", str(bold)))
        return "PortalSans", "PortalSans-Bold"
    return "Helvetica", "Helvetica-Bold"


class NumberedCanvas(pdfcanvas.Canvas):
    """A canvas that knows the page count: each page's state is kept until the document is
    saved, then every page gets its footer (``footer(canvas, page, pages)``) and is written.
    reportlab's usual two-pass way to print "page 1 of 3"."""

    def __init__(self, *args, footer, **kwargs):
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages = []

    def showPage(self):  # noqa: N802 (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._footer(self, number, total)
            super().showPage()
        super().save()


def statement_pdf(statement: Statement, *, holder_name: str, printed_by: str = "") -> bytes:
    """The e-statement: the bank, the holder, the account and the period, the opening balance,
    every movement oldest first with its running balance, the closing balance. A company's
    statement also names the user who printed it (``printed_by``)."""
    regular, bold = _fonts()
    text = ParagraphStyle("text", fontName=regular, fontSize=8, leading=10)
    strong = ParagraphStyle("strong", parent=text, fontName=bold)
    title = ParagraphStyle("title", parent=text, fontName=bold, fontSize=14, leading=18)
    right = ParagraphStyle("right", parent=text, alignment=2)
    account = statement.account
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
        title=f"{_('Account statement')} {account.number}",
        author=BANK_NAME,
    )

    def para(value, style=text):
        escaped = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return Paragraph(escaped, style)

    period = f"{statement.date_from:%d/%m/%Y} – {statement.date_to:%d/%m/%Y}"
    header = Table(
        [
            [para(_("Account holder"), strong), para(holder_name)],
            [para(_("Account number"), strong), para(f"{account.number} ({account.get_product_display()})")],
            [para(_("Currency"), strong), para(account.currency)],
            [para(_("Period"), strong), para(period)],
            [para(_("Opening balance"), strong), para(rupiah(statement.opening_balance))],
            [para(_("Closing balance"), strong), para(rupiah(statement.closing_balance))],
            [para(_("Printed"), strong), para(f"{_when(timezone.now())} WIB")],
            *([[para(_("Printed by"), strong), para(printed_by)]] if printed_by else []),
        ],
        colWidths=[40 * mm, 120 * mm],
        hAlign="LEFT",
    )
    rows = [
        [
            para(heading, strong)
            for heading in (
                _("Date and time (WIB)"), _("Description"), _("Counterparty"), _("Reference"),
                _("Debit"), _("Credit"), _("Balance"),
            )
        ],
        [para(""), para(_("Opening balance"), strong), "", "", "", "",
         para(rupiah(statement.opening_balance), right)],
    ]
    lines = movements(statement.entries_oldest_first)
    for line in lines:
        description = line.kind + (f": {line.description}" if line.description else "")
        rows.append(
            [
                para(_when(line.created_at)),
                para(description),
                para(f"{line.counterparty_name} {account_masked(line.counterparty_number)}"),
                para(line.reference),
                para(_money(line.debit), right),
                para(_money(line.credit), right),
                para(rupiah(line.balance_after), right),
            ]
        )
    rows.append(
        [para(""), para(_("Closing balance"), strong), "", "", "", "",
         para(rupiah(statement.closing_balance), right)]
    )
    table = Table(
        rows,
        colWidths=[32 * mm, 62 * mm, 50 * mm, 40 * mm, 30 * mm, 30 * mm, 29 * mm],
        repeatRows=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eaeef2")),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d3d9e0")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story = [
        para(BANK_NAME, title),
        para(_("Account statement"), strong),
        Spacer(1, 4 * mm),
        header,
        Spacer(1, 6 * mm),
        table,
    ]
    if not lines:
        story += [Spacer(1, 4 * mm), para(_("No movements in this period."))]

    def footer(canvas, page, pages):
        canvas.saveState()
        canvas.setFont(regular, 7)
        canvas.drawString(
            12 * mm, 7 * mm,
            _("%(bank)s · account %(number)s · page %(page)s of %(pages)s")
            % {
                "bank": BANK_NAME,
                "number": account_masked(account.number),
                "page": page,
                "pages": pages,
            },
        )
        canvas.restoreState()

    document.build(story, canvasmaker=partial(NumberedCanvas, footer=footer))
    return buffer.getvalue()
