"""One intent the token tests confirm: a transfer of Rp 1.500.000 to ****0017."""

SUMMARY = {
    "reference": "TRF1",
    "amount": "1500000.00",
    "currency": "IDR",
    "destination": "1002000017",
}
TEXT = "transfer %(amount)s to acct %(destination)s"
PARAMS = {"amount": "Rp 1.500.000", "destination": "****0017"}
