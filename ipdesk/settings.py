"""ipdesk settings, read from environment variables (12-factor).

With nothing set, ipdesk runs embedded: an SQLite file under ``IPDESK_DATA_DIR``, Celery
tasks run eagerly in-process and e-mail goes to the console. Production sets
``DATABASE_URL`` (PostgreSQL), ``CELERY_BROKER_URL``, ``EMAIL_URL``, ``SECRET_KEY`` and
``DEBUG=false``.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent

env = environ.Env()
environ.Env.read_env(PROJECT_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("IPDESK_DATA_DIR", default=str(PROJECT_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=True)
# The embedded default key only ever serves a developer's own machine; production must set one.
SECRET_KEY = env.str("SECRET_KEY", default="ipdesk-embedded-development-key-not-for-production")
if not DEBUG and SECRET_KEY.startswith("ipdesk-embedded"):
    raise RuntimeError("SECRET_KEY must be set when DEBUG is false")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "ipdesk.core",
    "ipdesk.audit",
    "ipdesk.accounts",
    "ipdesk.tariff",
    "ipdesk.collection",
    "ipdesk.settlement",
    "ipdesk.receipts",
    "ipdesk.delivery",
    "ipdesk.portal",
    "ipdesk.home",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Errors under /api/ keep the API's error shape, whoever answered them.
    "ipdesk.core.middleware.ApiErrorShapeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # NUL and other control characters in the path or query: 400 before any view runs.
    "ipdesk.core.middleware.RefuseControlCharactersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ipdesk.urls"
CSRF_FAILURE_VIEW = "ipdesk.core.middleware.csrf_failure"
WSGI_APPLICATION = "ipdesk.wsgi.application"

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
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'ipdesk.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while one writer commits; IMMEDIATE takes the write lock at
    # BEGIN so two writers queue instead of failing half-way through a transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Keep connections between requests (a new PostgreSQL connection costs several ms), checked
# before reuse so that a restarted server is noticed.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://ipdesk")}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "ipdesk.accounts.backends.LockoutPasswordBackend",
    "ipdesk.accounts.backends.PhoneCodeBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
# Repeated wrong passwords lock an account for a while (brute-force protection).
IPDESK_LOGIN_MAX_FAILURES = env.int("IPDESK_LOGIN_MAX_FAILURES", default=5)
IPDESK_LOGIN_LOCK_MINUTES = env.int("IPDESK_LOGIN_LOCK_MINUTES", default=15)
# Phone + one-time code sign-in (payers): where texts go, and the code's limits.
IPDESK_SMS_BACKEND = env.str("IPDESK_SMS_BACKEND", default="ipdesk.accounts.sms.ConsoleSmsBackend")
IPDESK_LOGIN_CODE_SECONDS = env.int("IPDESK_LOGIN_CODE_SECONDS", default=300)
IPDESK_LOGIN_CODE_MAX_ATTEMPTS = env.int("IPDESK_LOGIN_CODE_MAX_ATTEMPTS", default=5)
IPDESK_LOGIN_CODE_PER_PHONE_MINUTE = env.int("IPDESK_LOGIN_CODE_PER_PHONE_MINUTE", default=1)
IPDESK_LOGIN_CODE_PER_PHONE_HOUR = env.int("IPDESK_LOGIN_CODE_PER_PHONE_HOUR", default=5)
IPDESK_LOGIN_CODE_PER_IP_HOUR = env.int("IPDESK_LOGIN_CODE_PER_IP_HOUR", default=20)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# The project-wide stylesheet lives in ipdesk/static, which is no app: name it for the finders.
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG


def proxy_ssl_header(value: str) -> tuple[str, str] | None:
    """``X-Forwarded-Proto=https`` -> ``("HTTP_X_FORWARDED_PROTO", "https")``; empty -> None."""
    if not value:
        return None
    header, _separator, expected = (part.strip() for part in value.partition("="))
    if not header or not expected:
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER={value!r}: expected HEADER=VALUE, "
            "e.g. X-Forwarded-Proto=https"
        )
    meta = header.upper().replace("-", "_")
    return (meta if meta.startswith("HTTP_") else f"HTTP_{meta}", expected)


# IPDESK_HTTPS=true declares that the site is reached over HTTPS only: plain HTTP is
# redirected, cookies travel only over HTTPS, and browsers are told (HSTS) for a year to use
# nothing else for this host and its subdomains, preloading included. Each part can be tuned
# alone with the variable of the same name as the setting.
IPDESK_HTTPS = env.bool("IPDESK_HTTPS", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=IPDESK_HTTPS)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if IPDESK_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=IPDESK_HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=IPDESK_HTTPS)
# Behind a proxy that terminates TLS, Django sees plain HTTP and would redirect forever; the
# proxy's header tells it the original scheme. Set it only when the proxy always sets (or
# strips) that header itself, otherwise any client could claim to have come over HTTPS.
SECURE_PROXY_SSL_HEADER = proxy_ssl_header(env.str("SECURE_PROXY_SSL_HEADER", default=""))
# The client's address (rate limits, sign-in, audit) is read from X-Forwarded-For only on
# connections from these proxies (addresses or networks), IPDESK_PROXY_COUNT entries from the
# right: the header is otherwise the client's own word. See ipdesk/core/clientaddress.py.
IPDESK_TRUSTED_PROXIES = env.list("IPDESK_TRUSTED_PROXIES", default=[])
IPDESK_PROXY_COUNT = env.int("IPDESK_PROXY_COUNT", default=1)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = IPDESK_HTTPS or not DEBUG
CSRF_COOKIE_SECURE = IPDESK_HTTPS or not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ipdesk <noreply@ipdesk.localhost>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ipdesk.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "ipdesk.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "ipdesk.core.rest.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser with a nesting limit: a body nested thousands deep is a 400, not a
    # RecursionError.
    "DEFAULT_PARSER_CLASSES": ["ipdesk.core.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # "format" is an ordinary query parameter here (report formats), not content negotiation.
    "URL_FORMAT_OVERRIDE": None,
    # Public verification (查验) is open to anyone, so it is rate-limited per client address.
    "DEFAULT_THROTTLE_RATES": {"verify": env.str("IPDESK_VERIFY_RATE", default="120/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ipdesk API",
    "DESCRIPTION": "Patent fees, electronic receipts, settlement and public services.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per set of choices, shared by every field that uses it (a generated client
    # gets one enum type each, named for the domain, not for the first field it met).
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "ipdesk.collection.models.Channel",
        "CorrectionCauseEnum": "ipdesk.collection.models.CorrectionCause",
        "DeliveryStatusEnum": "ipdesk.delivery.models.Status",
        "OrganisationKindEnum": "ipdesk.accounts.models.OrganisationKind",
        "PatentKindEnum": "ipdesk.tariff.models.PatentKind",
        "PayerKindEnum": "ipdesk.collection.models.PayerKind",
        "PaymentStatusEnum": "ipdesk.collection.models.PaymentStatus",
        "ReceiptKindEnum": "ipdesk.receipts.models.ReceiptKind",
        "ReceiptPayerTypeEnum": [(1, 1), (2, 2)],
        "ReceiptStatusEnum": [("valid", "valid"), ("reversed", "reversed")],
        "RefundReasonEnum": "ipdesk.collection.models.RefundReason",
        "RefundStatusEnum": "ipdesk.collection.models.RefundStatus",
        "ReversalReasonEnum": "ipdesk.receipts.models.ReversalReason",
        "StatementStatusEnum": "ipdesk.settlement.models.StatementStatus",
        "VerificationStatusEnum": [
            (s, s) for s in ("genuine", "reversed", "mismatch", "not_found")
        ],
        "VolumeKindEnum": "ipdesk.collection.models.VolumeKind",
        "VolumeStatusEnum": "ipdesk.collection.models.VolumeStatus",
    },
}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="")
# Without a broker the embedded default runs every task in-process, at once.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    # Seed 004: the fee data is backed up every day (run `celery -A ipdesk beat`).
    "daily-backup": {
        "task": "ipdesk.collection.daily_backup",
        "schedule": crontab(hour=env.int("IPDESK_BACKUP_HOUR", default=23), minute=30),
    },
}
IPDESK_BACKUP_DIR = env.str("IPDESK_BACKUP_DIR", default=str(DATA_DIR / "backups"))
# Signed checkpoints of the audit chain's head: a directory the database cannot rewrite
# (other storage, other permissions), appended to hourly, at every backup and on demand.
IPDESK_AUDIT_CHECKPOINT_DIR = env.str(
    "IPDESK_AUDIT_CHECKPOINT_DIR", default=str(DATA_DIR / "audit-checkpoints")
)
CELERY_BEAT_SCHEDULE["audit-checkpoint"] = {
    "task": "ipdesk.audit.checkpoint",
    "schedule": crontab(minute=env.int("IPDESK_AUDIT_CHECKPOINT_MINUTE", default=5)),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Payer portal: selections above this many receipts are zipped in the background.
IPDESK_PORTAL_SYNC_ZIP_LIMIT = env.int("IPDESK_PORTAL_SYNC_ZIP_LIMIT", default=500)

# Electronic receipts: signing keys come from files or the environment, never the database.
IPDESK_SIGNING_KEY_DIR = env.str("IPDESK_SIGNING_KEY_DIR", default=str(DATA_DIR / "keys"))
IPDESK_SIGNING_KEY_ID = env.str("IPDESK_SIGNING_KEY_ID", default="")
# Receipt documents are signed too: the PDF by the document-signing certificate, the OFD by
# the SM2 seal certificate (receipts/certificates.py); ids pick one when several have keys.
IPDESK_DOCUMENT_CERT_DIR = env.str("IPDESK_DOCUMENT_CERT_DIR", default=str(DATA_DIR / "certs"))
IPDESK_PDF_CERT_ID = env.str("IPDESK_PDF_CERT_ID", default="")
IPDESK_SEAL_CERT_ID = env.str("IPDESK_SEAL_CERT_ID", default="")
IPDESK_RECEIPT_PAYEE = env.str("IPDESK_RECEIPT_PAYEE", default="国家知识产权局")
# 票据代码 = region (2) + classification (2) + kind (2) + year (2); a node's series take
# their own kind digits so that several nodes can issue in parallel.
IPDESK_RECEIPT_REGION = env.str("IPDESK_RECEIPT_REGION", default="11")
IPDESK_RECEIPT_CLASS = env.str("IPDESK_RECEIPT_CLASS", default="01")
IPDESK_RECEIPT_NODE = env.str("IPDESK_RECEIPT_NODE", default="default")
IPDESK_PUBLIC_URL = env.str("IPDESK_PUBLIC_URL", default="http://127.0.0.1:8000")

# Delivery: e-mail, pickup codes (取票码) and wallet apps (电子票夹).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
IPDESK_SEND_RATE = env.str("IPDESK_SEND_RATE", default="20/hour")
IPDESK_PICKUP_RATE = env.str("IPDESK_PICKUP_RATE", default="30/min")
IPDESK_WALLET_BINDING_RATE = env.str("IPDESK_WALLET_BINDING_RATE", default="60/min")
IPDESK_WALLET_BINDING_MINUTES = env.int("IPDESK_WALLET_BINDING_MINUTES", default=10)
IPDESK_WEBHOOK_TIMEOUT = env.float("IPDESK_WEBHOOK_TIMEOUT", default=10.0)
