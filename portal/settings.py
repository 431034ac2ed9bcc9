"""Settings, driven by the environment (django-environ).

``PORTAL_ENV`` picks the profile:

* ``development`` (the default, what ``make run`` uses): DEBUG on, SQLite, a filesystem
  Celery broker that needs no server, SMS written to the outbox page. Needs no variables.
* ``production``: DEBUG off (refused if turned on), and it refuses to start unless every
  secret is present and well formed (``SECRET_KEY``, ``OTP_SMS_KEY``, ``TOKEN_SEED_KEYS``,
  ``DATABASE_URL``, ``ALLOWED_HOSTS``, Twilio credentials, an https ``PORTAL_BASE_URL``).

Every limit of the OTP core is a setting with the default from DESIGN.md; code reads them at
call time, never at import.
"""

import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
PORTAL_ENV = env.str("PORTAL_ENV", default="development")
if PORTAL_ENV not in {"development", "production"}:
    raise RuntimeError(f"PORTAL_ENV must be development or production, not {PORTAL_ENV!r}")
PRODUCTION = PORTAL_ENV == "production"
# Local state of the embedded default: SQLite files and the filesystem broker's folder.
VAR_DIR = Path(env.str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))


def _secret(name, dev_default, *, valid=None, rule="must not be empty"):
    """A secret: in production present, not blank, not the development value and ``valid``
    (else the portal does not start; the message names the variable and the rule, never the
    value); in development a fixed throw-away value."""
    if not PRODUCTION:
        return env.str(name, default=dev_default)
    value = env.str(name, default="").strip()
    if not value or value == dev_default or (valid is not None and not valid(value)):
        raise ImproperlyConfigured(f"{name} is required in production and {rule}")
    return value


def _fernet_keys_valid(keys) -> bool:
    from cryptography.fernet import Fernet

    try:
        for key in keys:
            Fernet(key)
    except ValueError:  # binascii.Error is a ValueError
        return False
    return bool(keys)


DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    # DEBUG shows settings and tracebacks to anyone and unlocks the demo commands.
    raise ImproperlyConfigured("DEBUG must be off in production (PORTAL_ENV=production)")
SECRET_KEY = _secret(
    "SECRET_KEY",
    "dev-only-secret-key-not-for-production-0123456789abcdef",
    # Django's own test of a strong key (check --deploy, security.W009).
    valid=lambda key: len(key) >= 50 and len(set(key)) >= 5 and not key.startswith("django-"),
    rule="must be at least 50 characters, varied, and not a django-insecure- key",
)
ALLOWED_HOSTS = (
    [host.strip() for host in _secret("ALLOWED_HOSTS", "").split(",") if host.strip()]
    if PRODUCTION
    else env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "portal.apps.StaffAdminConfig",  # django.contrib.admin with the staff site as admin.site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "phonenumber_field",
    "axes",
    "csp",
    "accounts",
    "tokens",
    "payments",
    "corporate",
    "portal",
]

MIDDLEWARE = [
    # An id on every request and log line (X-Request-ID); /healthz answered before anything
    # that needs a session, a login, a known host name or HTTPS (the load balancer's probe).
    "portal.logs.RequestIdMiddleware",
    "portal.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.NoStoreMiddleware",
    "portal.middleware.AuditClientMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.IndonesianFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "portal.middleware.NulQueryRefusedMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.middleware.SessionSecurityMiddleware",
    "portal.middleware.PasswordChangeRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": ["portal.templatetags.portal"],
        },
    }
]

DATABASES = {
    "default": environ.Env.db_url_config(_secret("DATABASE_URL", ""))
    if PRODUCTION
    else env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, even for tests, so that a Celery worker in another process sees the same rows.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    # BEGIN IMMEDIATE: a transaction that reads then writes takes the write lock up front, so
    # concurrent writers queue on the timeout instead of failing with "database is locked";
    # WAL lets readers go on while one writes (the web process and the worker share the file).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DB_POOL_MAX_SIZE := env.int("DB_POOL_MAX_SIZE", default=0):
        # A process-wide psycopg pool (the Celery worker's many threads share a few
        # connections: PostgreSQL's max_connections bounds them all). Django requires
        # CONN_MAX_AGE 0 with a pool; a thread waiting longer than 10 s for one fails.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": 10,
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://portal")}
# A Redis that accepts connections and never answers must not hang a request: the cache and
# the Celery broker give up after this many seconds (the session falls back to the database;
# "Generate OTP" says the SMS cannot be sent now).
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=2.0)
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    CACHES["default"]["BACKEND"] = "portal.cache.RedisCache"  # one client per pool, not per call
    CACHES["default"].setdefault("OPTIONS", {}).update(
        socket_timeout=REDIS_SOCKET_TIMEOUT, socket_connect_timeout=REDIS_SOCKET_TIMEOUT
    )

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sessions: shared store, cycled at login and after OTP, idle and absolute limits enforced by
# portal.middleware.SessionSecurityMiddleware, one session per user (User.session_key).
# cached_db only with a shared cache (Redis): a per-process cache would serve stale sessions
# once there is more than one web process.
# Django's engines with fewer round trips per write and per key change (accounts.sessions).
SESSION_ENGINE = (
    "accounts.sessions.db"
    if CACHES["default"]["BACKEND"].endswith("LocMemCache")
    else "accounts.sessions.cached_db"
)
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=5 * 60)
SESSION_ABSOLUTE_TIMEOUT = env.int("SESSION_ABSOLUTE_TIMEOUT", default=30 * 60)
SESSION_TOUCH_INTERVAL = env.int("SESSION_TOUCH_INTERVAL", default=15)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PRODUCTION
# The language choice is no secret, but it is the bank's cookie like the others.
LANGUAGE_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Preloading is hard to undo (browsers ship the list for months): the bank opts in.
# check --deploy's security.W021 asks for it and is silenced below while it is off.
SECURE_HSTS_PRELOAD = PRODUCTION and env.bool("SECURE_HSTS_PRELOAD", default=False)
# Reverse proxies (addresses or networks) whose X-Forwarded-For is believed when they are the
# direct peer (accounts.views.client_ip). Production defaults to a proxy on the same host.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=["127.0.0.1", "::1"] if PRODUCTION else [])

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        # The Mobile Token's service worker and web app manifest (issue 12).
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# Login throttling: five wrong passwords in a row lock the User ID until it is unblocked
# (no cool-off), counted in the database so every web process sees the same count. Locking by
# User ID alone (not by IP) locks unknown User IDs the same way, so a lockout reveals nothing.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = None
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_FORM_FIELD = "username"
# What axes stores and counts: the User ID when it names a user, else a keyed hash of what
# was typed (it may be a password typed into the wrong field).
AXES_USERNAME_CALLABLE = "accounts.services.login_throttle_username"
# Masked in axes' stored POST data and in its log lines (axes' default, kept on purpose).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False
# A try on a locked User ID is refused uncounted: the count stays at the limit (staff never
# read "6 / 5"), and with a cool-off the lock is not lengthened by each refused try.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# axes.W006 asks to lock by IP too; the bank's rule is per User ID (an IP lock would let one
# customer behind a carrier NAT lock out thousands), so the warning is silenced on purpose.
SILENCED_SYSTEM_CHECKS = ["axes.W006"] + ([] if SECURE_HSTS_PRELOAD else ["security.W021"])
AXES_CLIENT_IP_CALLABLE = "accounts.views.client_ip"
# Password spraying (many User IDs, one password, one address) is stopped per network address
# (IPv4 address or IPv6 /64): more than LOGIN_ADDRESS_FAILURE_LIMIT failed logins within
# LOGIN_ADDRESS_WINDOW seconds lock the address for LOGIN_ADDRESS_COOLOFF seconds. Counted in
# the database (accounts.LoginAddressThrottle), so every web process sees the same count.
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=30)
LOGIN_ADDRESS_WINDOW = env.int("LOGIN_ADDRESS_WINDOW", default=15 * 60)
LOGIN_ADDRESS_COOLOFF = env.int("LOGIN_ADDRESS_COOLOFF", default=15 * 60)

LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Bahasa Indonesia")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production serves what collectstatic gathered; development and tests serve from the finders.
STATIC_ROOT = BASE_DIR / "staticfiles" if PRODUCTION else None
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

PHONENUMBER_DEFAULT_REGION = "ID"
PHONENUMBER_DB_FORMAT = "E164"

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
_broker_dir = VAR_DIR / "celery-broker"
if CELERY_BROKER_URL.startswith("filesystem"):
    _broker_dir.mkdir(parents=True, exist_ok=True)
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(_broker_dir / "control"),
        "polling_interval": 0.1,  # kombu's default (1 s) delays every SMS by up to a second
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {}
)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A request must not hang when the broker is down or silent: publish fails fast (one retry,
# each try bounded by REDIS_SOCKET_TIMEOUT) and the page says so.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_SOCKET_TIMEOUT

# --- OTP core (tokens) --------------------------------------------------------------------
OTP_SMS_KEY = _secret(
    "OTP_SMS_KEY",
    "dev-only-otp-key-0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    valid=lambda key: len(key) >= 32,
    rule="must be at least 32 characters (the HMAC key every SMS code is derived with)",
)
OTP_CODE_DIGITS = 6
OTP_CODE_LIFETIME = env.int("OTP_CODE_LIFETIME", default=5 * 60)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Socket timeouts: a silent Redis fails the publish (kombu OperationalError) instead of
    # hanging. Visibility timeout: a task a dead worker held comes back while its code is still
    # worth sending (Redis' default is an hour): a minute, swept every 10 s (kombu's default
    # sweep is every 100 s). A countdown (retry) longer than it is handed to a second worker
    # too: harmless, the SMS claim lets one of them send.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_timeout": REDIS_SOCKET_TIMEOUT,
        "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
        "visibility_timeout": env.int(
            "CELERY_VISIBILITY_TIMEOUT", default=min(60, OTP_CODE_LIFETIME)
        ),
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
    }
OTP_MAX_ATTEMPTS = env.int("OTP_MAX_ATTEMPTS", default=3)
OTP_MAX_CONSECUTIVE_FAILURES = env.int("OTP_MAX_CONSECUTIVE_FAILURES", default=5)
OTP_RESEND_COOLDOWN = env.int("OTP_RESEND_COOLDOWN", default=60)
OTP_SMS_USER_LIMIT = env.int("OTP_SMS_USER_LIMIT", default=5)
OTP_SMS_USER_WINDOW = env.int("OTP_SMS_USER_WINDOW", default=15 * 60)
OTP_SMS_PHONE_LIMIT = env.int("OTP_SMS_PHONE_LIMIT", default=5)
OTP_SMS_PHONE_WINDOW = env.int("OTP_SMS_PHONE_WINDOW", default=60 * 60)
OTP_SMS_GLOBAL_ALARM = env.int("OTP_SMS_GLOBAL_ALARM", default=600)
OTP_SMS_GLOBAL_WINDOW = env.int("OTP_SMS_GLOBAL_WINDOW", default=60)
# Fernet keys sealing hardware-token seeds at rest (first one seals, all unseal: rotation by
# putting a new key first). Not the SECRET_KEY; required in production.
_DEV_TOKEN_SEED_KEY = "gCKYCw1YOsVFGvhx85bk6ElKDEG9l-AvnIGYI2h12vE="  # public: development only
TOKEN_SEED_KEYS = (
    [
        key.strip()
        for key in _secret(
            "TOKEN_SEED_KEYS",
            _DEV_TOKEN_SEED_KEY,
            valid=lambda keys: (
                _DEV_TOKEN_SEED_KEY not in keys
                and _fernet_keys_valid([key.strip() for key in keys.split(",")])
            ),
            rule="must be comma-separated Fernet keys (Fernet.generate_key()), not the demo key",
        ).split(",")
    ]
    if PRODUCTION
    else env.list("TOKEN_SEED_KEYS", default=[_DEV_TOKEN_SEED_KEY])
)
TOKEN_HOTP_WINDOW = env.int("TOKEN_HOTP_WINDOW", default=10)
TOKEN_RESYNC_WINDOW = env.int("TOKEN_RESYNC_WINDOW", default=1000)
TOKEN_TOTP_TOLERANCE = env.int("TOKEN_TOTP_TOLERANCE", default=1)
TOKEN_MIN_SEED_BYTES = 16  # RFC 4226 §4: at least 128 bits
TOKEN_IMPORT_MAX_BYTES = env.int("TOKEN_IMPORT_MAX_BYTES", default=2 * 1024 * 1024)
# PBKDF2 rounds a password-encrypted PSKC file may ask for; checked before deriving (a
# file asking for billions would hold a web worker for hours).
TOKEN_PSKC_MAX_PBKDF2_ITERATIONS = env.int("TOKEN_PSKC_MAX_PBKDF2_ITERATIONS", default=10_000_000)
# Mobile Token (issue 12, docs/mobile-token-design.md): a code per 30-second step, accepted
# one step either side.
MOBILE_TOKEN_STEP = 30
MOBILE_TOKEN_TOLERANCE = env.int("MOBILE_TOKEN_TOLERANCE", default=1)
MOBILE_TOKEN_LINK_DIGITS = 8
# A registration (OTP, then the Unlock Code) must be finished within this many seconds.
MOBILE_TOKEN_REGISTRATION_LIFETIME = env.int("MOBILE_TOKEN_REGISTRATION_LIFETIME", default=600)
# The phone forgets the unlocked key after this many idle seconds (or when the page is hidden).
MOBILE_TOKEN_UNLOCK_IDLE = 120
# Device secrets one registration may ask for (each trivial Unlock Code refused costs one).
MOBILE_TOKEN_SEEDS_PER_REGISTRATION = 5
# per_transaction: every action needs its own OTP; per_session: one OTP per login session.
OTP_POLICY = {
    "transfer": "per_transaction",
    "add_payee": "per_transaction",
    "corporate_payment": "per_transaction",
    "profile_update": "per_session",
    # A change of authenticator (phone, email) always needs its own OTP, whatever the session
    # (DESIGN: "each need a fresh OTP"), so it is not a per_session "profile_update".
    "phone_change": "per_transaction",
    "phone_verify": "per_transaction",
    "email_change": "per_transaction",
}
# Where customers reach the portal: links in emails (the new-email verification) start here.
PORTAL_BASE_URL = (
    _secret(
        "PORTAL_BASE_URL",
        "",
        valid=lambda url: url.startswith("https://"),
        rule="must be the https:// address customers reach the portal at",
    )
    if PRODUCTION
    else env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")
)
# How long the link that verifies a new email stays valid, and the wait before a resend.
EMAIL_CHANGE_LINK_MAX_AGE = env.int("EMAIL_CHANGE_LINK_MAX_AGE", default=30 * 60)
EMAIL_CHANGE_LINK_RESEND_COOLDOWN = env.int("EMAIL_CHANGE_LINK_RESEND_COOLDOWN", default=60)
# Changes of mobile number refused to one customer per day (WIB) because the new number
# cannot be used (another customer's, say), checked only after both codes; at the limit the
# customer is sent to a branch until tomorrow. Counting keeps the check from being an oracle.
PHONE_CHANGE_REFUSALS_PER_DAY = env.int("PHONE_CHANGE_REFUSALS_PER_DAY", default=3)

# --- SMS ----------------------------------------------------------------------------------
SMS_BACKEND = env.str("SMS_BACKEND", default="twilio" if PRODUCTION else "outbox")
if PRODUCTION and SMS_BACKEND == "outbox":
    # The outbox writes every OTP into the database: it plays the phone in development only.
    raise RuntimeError("SMS_BACKEND=outbox is for development; production sends with twilio")
SMS_OUTBOX_PAGE = env.bool("SMS_OUTBOX_PAGE", default=DEBUG) and not PRODUCTION
# How long Twilio may try to deliver a notice SMS (no code in it); Twilio accepts 1 to 36000.
SMS_NOTICE_VALIDITY = env.int("SMS_NOTICE_VALIDITY", default=10 * 60 * 60)
SMS_DELAYED_AFTER = env.int("SMS_DELAYED_AFTER", default=20)  # seconds before "SMS tertunda"
SMS_SEND_MAX_RETRIES = env.int("SMS_SEND_MAX_RETRIES", default=4)
SMS_SEND_RETRY_BASE = env.float("SMS_SEND_RETRY_BASE", default=2.0)
SMS_STATUS_CALLBACK_URL = env.str("SMS_STATUS_CALLBACK_URL", default="")
TWILIO_ACCOUNT_SID = _secret(
    "TWILIO_ACCOUNT_SID",
    "AC00000000000000000000000000000000",
    valid=lambda sid: re.fullmatch(r"AC[0-9a-fA-F]{32}", sid) is not None,
    rule="must be AC followed by 32 hexadecimal digits",
)
TWILIO_AUTH_TOKEN = _secret("TWILIO_AUTH_TOKEN", "dev-only-twilio-auth-token")
TWILIO_FROM = env.str("TWILIO_FROM", default="" if PRODUCTION else "+15005550006")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="")
TWILIO_TIMEOUT = env.float("TWILIO_TIMEOUT", default=5.0)
# A message left "sending" longer than this lost its worker (killed): another may take it over,
# asking Twilio first. Above the longest attempt (a lookup and a send, each up to the timeout).
SMS_SEND_LEASE = env.float("SMS_SEND_LEASE", default=3 * TWILIO_TIMEOUT)

# Email: notices to customers (factor changes). Development prints them in the worker's log.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=PRODUCTION)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Bank Nusantara <no-reply@bank.example>")
# A silent SMTP server must not hold a worker for ever: the send fails and is retried.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# Security notices (accounts.EmailMessage) are retried on SMTP trouble with backoff and jitter:
# 30 s, 60 s, 120 s, then at most EMAIL_SEND_RETRY_MAX_DELAY apart, EMAIL_SEND_MAX_RETRIES times
# (about an hour in all). Each wait stays below the Redis visibility timeout
# (OTP_CODE_LIFETIME), or Redis would hand the waiting task to a second worker.
EMAIL_SEND_MAX_RETRIES = env.int("EMAIL_SEND_MAX_RETRIES", default=18)
EMAIL_SEND_RETRY_BASE = env.float("EMAIL_SEND_RETRY_BASE", default=30.0)
EMAIL_SEND_RETRY_MAX_DELAY = env.float(
    "EMAIL_SEND_RETRY_MAX_DELAY", default=min(240.0, OTP_CODE_LIFETIME * 0.8)
)

# JSON lines (one object per line, with the request id) in production, for a log collector;
# plain lines in development. portal.logs keeps secrets out of both.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "plain")
LOGGING = logging_config(
    json_lines=LOG_FORMAT == "json", level=env.str("LOG_LEVEL", default="INFO")
)
# The Celery worker logs through the same configuration (JSON in production) rather than its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"

# --- Payments -----------------------------------------------------------------------------
# Per transfer and per customer per day (since midnight WIB), as Indonesian banks publish
# them; enforced in payments.services under the customer's and the accounts' locks.
TRANSFER_MAX_AMOUNT = env.int("TRANSFER_MAX_AMOUNT", default=500_000_000)
TRANSFER_DAILY_LIMIT = env.int("TRANSFER_DAILY_LIMIT", default=1_000_000_000)
# Corporate payments (issue 11): per payment, and per company per day (WIB) over every user.
CORPORATE_TRANSFER_MAX_AMOUNT = env.int("CORPORATE_TRANSFER_MAX_AMOUNT", default=2_000_000_000)
CORPORATE_DAILY_LIMIT = env.int("CORPORATE_DAILY_LIMIT", default=5_000_000_000)
# Signed forms attached to corporate requests: kept outside the public media path (never
# served by whitenoise or a web server's /media/), read only through a staff-only view.
CORPORATE_UPLOAD_DIR = Path(
    env.str("CORPORATE_UPLOAD_DIR", default=str(VAR_DIR / "corporate-uploads"))
)
CORPORATE_UPLOAD_MAX_BYTES = env.int("CORPORATE_UPLOAD_MAX_BYTES", default=5 * 1024 * 1024)
# Different accounts of other people a customer may be shown the holder of, per day (WIB):
# showing the name before confirming is right, harvesting names is not.
TRANSFER_LOOKUP_DAILY_LIMIT = env.int("TRANSFER_LOOKUP_DAILY_LIMIT", default=20)
# Show recipients' names partly masked ("Si** Ra****") on confirmation pages.
RECIPIENT_NAME_MASKED = env.bool("RECIPIENT_NAME_MASKED", default=False)
# The one currency Internet Banking moves: the limits above, the SMS and the statement are in it.
TRANSFER_CURRENCY = "IDR"
# A transfer started but not confirmed waits this long, then expires by itself (it can never be
# confirmed afterwards); by default the lifetime of the code that would confirm it.
TRANSFER_PENDING_LIFETIME = env.int("TRANSFER_PENDING_LIFETIME", default=OTP_CODE_LIFETIME)
# Mutasi Rekening: one view covers at most this many days, over at most this many days back.
STATEMENT_MAX_RANGE_DAYS = env.int("STATEMENT_MAX_RANGE_DAYS", default=31)
STATEMENT_HISTORY_DAYS = env.int("STATEMENT_HISTORY_DAYS", default=183)
STATEMENT_PAGE_SIZE = env.int("STATEMENT_PAGE_SIZE", default=25)

# --- The bank as customers reach it ---------------------------------------------------------
# Shown on the login page, the error pages, and to a blocked or flagged customer.
BANK_CALL_CENTRE = env.str("BANK_CALL_CENTRE", default="1500 123")
# A failed CSRF check (a form left open too long, a stale tab) gets the portal's own page.
CSRF_FAILURE_VIEW = "portal.errors.csrf_failure"

# --- Passwords ------------------------------------------------------------------------------
# Forgotten password ("Lupa Password?"): tries per User ID and per network address in a window,
# counted in the database (accounts.PasswordReset rows, under PostgreSQL advisory locks), so
# every web process sees them.
PASSWORD_RESET_USER_LIMIT = env.int("PASSWORD_RESET_USER_LIMIT", default=5)
PASSWORD_RESET_ADDRESS_LIMIT = env.int("PASSWORD_RESET_ADDRESS_LIMIT", default=20)
PASSWORD_RESET_WINDOW = env.int("PASSWORD_RESET_WINDOW", default=60 * 60)
# How long a proven reset (identity + SMS OTP) may wait for its new password.
PASSWORD_RESET_LIFETIME = env.int("PASSWORD_RESET_LIFETIME", default=10 * 60)

# --- Retention (housekeeping) ---------------------------------------------------------------
# Celery beat runs one job per kind of row (portal.tasks); each deletes in batches of
# HOUSEKEEPING_BATCH_SIZE rows. Periods in seconds, retentions in days. UU PDP (UU 27/2022)
# asks to keep personal data no longer than its purpose needs; the audit log, transfers that
# moved or were decided and every ledger entry are banking records and are never purged here.
# portal.checks refuses a retention shorter than a window that still counts the rows.
HOUSEKEEPING_BATCH_SIZE = env.int("HOUSEKEEPING_BATCH_SIZE", default=1000)
HOUSEKEEPING_SESSIONS_EVERY = env.int("HOUSEKEEPING_SESSIONS_EVERY", default=60 * 60)
HOUSEKEEPING_LOGIN_RECORDS_EVERY = env.int("HOUSEKEEPING_LOGIN_RECORDS_EVERY", default=24 * 3600)
HOUSEKEEPING_CHALLENGES_EVERY = env.int("HOUSEKEEPING_CHALLENGES_EVERY", default=24 * 3600)
HOUSEKEEPING_SMS_EVERY = env.int("HOUSEKEEPING_SMS_EVERY", default=24 * 3600)
HOUSEKEEPING_EMAILS_EVERY = env.int("HOUSEKEEPING_EMAILS_EVERY", default=24 * 3600)
HOUSEKEEPING_UNCONFIRMED_EVERY = env.int("HOUSEKEEPING_UNCONFIRMED_EVERY", default=24 * 3600)
# axes' login records and the per-address throttle: the audit log keeps every login anyway.
RETENTION_LOGIN_RECORDS_DAYS = env.float("RETENTION_LOGIN_RECORDS_DAYS", default=90)
# OTP challenges (purpose, masked summary), counted from their expiry; their SMS row goes too.
RETENTION_CHALLENGES_DAYS = env.float("RETENTION_CHALLENGES_DAYS", default=90)
# SMS records (numbers, delivery status): answers "I never got the code" and the provider's bill.
RETENTION_SMS_DAYS = env.float("RETENTION_SMS_DAYS", default=90)
# The development phone (SMS_BACKEND=outbox) holds codes in plain text: a day is plenty.
RETENTION_SMS_OUTBOX_DAYS = env.float("RETENTION_SMS_OUTBOX_DAYS", default=1)
RETENTION_EMAILS_DAYS = env.float("RETENTION_EMAILS_DAYS", default=90)
# Transfers and payees never confirmed, unfinished phone/email/password changes, password-reset
# tries, ended Mobile Token registrations.
RETENTION_UNCONFIRMED_DAYS = env.float("RETENTION_UNCONFIRMED_DAYS", default=30)


def _every(seconds):
    # A run still queued when the next is due is dropped (the next does the same work).
    return {"schedule": seconds, "options": {"expires": seconds}}


CELERY_BEAT_SCHEDULE = {
    "sessions": {"task": "portal.tasks.sessions_clear", **_every(HOUSEKEEPING_SESSIONS_EVERY)},
    "login-records": {
        "task": "portal.tasks.login_records_purge",
        **_every(HOUSEKEEPING_LOGIN_RECORDS_EVERY),
    },
    "challenges": {
        "task": "portal.tasks.challenges_purge",
        **_every(HOUSEKEEPING_CHALLENGES_EVERY),
    },
    "sms": {"task": "portal.tasks.sms_purge", **_every(HOUSEKEEPING_SMS_EVERY)},
    "emails": {"task": "portal.tasks.emails_purge", **_every(HOUSEKEEPING_EMAILS_EVERY)},
    "unconfirmed-payments": {
        "task": "portal.tasks.unconfirmed_payments_purge",
        **_every(HOUSEKEEPING_UNCONFIRMED_EVERY),
    },
    "unconfirmed-changes": {
        "task": "portal.tasks.unconfirmed_changes_purge",
        **_every(HOUSEKEEPING_UNCONFIRMED_EVERY),
    },
    "mobile-registrations": {
        "task": "portal.tasks.mobile_registrations_purge",
        **_every(HOUSEKEEPING_UNCONFIRMED_EVERY),
    },
}
# Beat's own state (when each job last ran), for `celery beat --schedule`; var/ in development.
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celery-beat-schedule")
)
# beat does not make the folder itself (a fresh checkout or image has no var/).
Path(CELERY_BEAT_SCHEDULE_FILENAME).parent.mkdir(parents=True, exist_ok=True)
