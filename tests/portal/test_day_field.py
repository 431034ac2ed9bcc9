"""A day in the right shape that does not exist (31/02/2026) is told so, not "type DD/MM/YYYY"
(found by the new-user walk of issue 11); the shape error stays for anything else."""

import pytest
from django import forms
from django.utils import translation

from portal.forms import BirthDateField, DayField


class Form(forms.Form):
    day = DayField()
    birth = BirthDateField(required=False)


@pytest.mark.parametrize("typed", ["31/02/2026", "00/01/2026", "31042026", "15/13/2026"])
def test_a_day_that_does_not_exist_is_told_so(typed):
    with translation.override("id"):
        form = Form({"day": typed})
        assert not form.is_valid()
        assert form.errors["day"] == [
            "Tanggal itu tidak ada di kalender: periksa hari dan bulannya."
        ]


def test_a_birth_date_that_does_not_exist_is_told_so():
    with translation.override("id"):
        form = Form({"day": "01/01/2026", "birth": "30/02/1990"})
        assert form.errors["birth"] == [
            "Tanggal itu tidak ada di kalender: periksa hari dan bulannya."
        ]


@pytest.mark.parametrize("typed", ["2026-02-01", "1/1/26", "abc", "١٢/٠١/٢٠٢٦"])
def test_anything_else_gets_the_shape(typed):
    with translation.override("id"):
        form = Form({"day": typed})
        assert form.errors["day"] == [
            "Masukkan tanggal dengan format DD/MM/YYYY, misalnya 05/03/2026."
        ]
