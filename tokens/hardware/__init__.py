"""Hardware OATH tokens: stock from PSKC files, sealed seeds, checking their codes, and their
life with staff and customers.

Kept apart from ``tokens.services`` (the SMS challenge core) because a token's code is checked
against the token's own state (HOTP counter, TOTP step and drift), not derived from a
challenge. Split by concern: ``oath`` (sealed seeds and code checks), ``pskc_import`` (stock
from vendor files) and ``lifecycle`` (staff roles and actions, serials, activation). Callers
use ``tokens.hardware``, which has every public name.
"""

from .lifecycle import (
    HELD_STATES,
    PERM_ASSIGN,
    PERM_IMPORT,
    PERM_RESYNC,
    PERM_SMS_FALLBACK,
    PERM_STATE,
    REPLACE_STATES,
    STATE_CHANGE_OWN_SERVICE,
    TOKEN_ROLE_PERMISSIONS,
    confirmation_method_set,
    serial_normalise,
    serial_typable,
    sms_fallback_switch,
    token_activate,
    token_assign,
    token_resync_staff,
    token_roles_grant,
    token_state_change,
)
from .oath import (
    seed_seal,
    seed_unseal,
    token_code_current,
    token_code_reused,
    token_code_verify,
    token_resync,
)
from .pskc_import import (
    PSKC_ALGORITHMS,
    ImportProblem,
    ImportRefused,
    ImportReport,
    tokens_import,
)

__all__ = [
    "PERM_ASSIGN",
    "PERM_IMPORT",
    "PERM_RESYNC",
    "PERM_SMS_FALLBACK",
    "PERM_STATE",
    "HELD_STATES",
    "PSKC_ALGORITHMS",
    "REPLACE_STATES",
    "STATE_CHANGE_OWN_SERVICE",
    "TOKEN_ROLE_PERMISSIONS",
    "ImportProblem",
    "ImportRefused",
    "ImportReport",
    "confirmation_method_set",
    "seed_seal",
    "seed_unseal",
    "serial_normalise",
    "serial_typable",
    "sms_fallback_switch",
    "token_activate",
    "token_assign",
    "token_code_current",
    "token_code_reused",
    "token_code_verify",
    "token_resync",
    "token_resync_staff",
    "token_roles_grant",
    "token_state_change",
    "tokens_import",
]
