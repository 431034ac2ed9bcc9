"""Reads of the accounts app that more than one place needs."""

from .models import AccessBlock, User


def login_blocks(*, user: User) -> list[AccessBlock]:
    """Active blocks that stop this customer from logging in."""
    return list(user.access_blocks.active().filter(kind__in=AccessBlock.LOGIN_KINDS))


def otp_blocked(*, user: User) -> bool:
    """True while any active block stops this customer from confirming with an OTP."""
    return user.access_blocks.active().exists()
