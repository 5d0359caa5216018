"""Settings for every environment, read from environment variables.

Local defaults (SQLite, the django-q2 ORM broker, console email) work with no
environment at all. With DJANGO_DEBUG unset or false, secrets have no default.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Lets ModelAdmin[...] and QuerySet[...] be subscripted at run time, for mypy.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = env(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = env(name)
    return int(value) if value is not None else default


# Local development and tests opt in to DEBUG; production is the default.
DEBUG = env_bool("DJANGO_DEBUG", False)
TESTING = env_bool("DJANGO_TESTING", False)

_secret = env("DJANGO_SECRET_KEY")
if _secret is None:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    _secret = "insecure-local-only-key-never-used-in-production-0123456789abcdef"  # noqa: S105
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG or TESTING else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "formtools",
    "django_q",
    "anymail",
    "csp",
    "django_otp",
    "intake",
    "nlp",
    "triage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "intake.context_processors.service",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}") or "",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the django-q2 worker read while the other writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Installed by `npm ci` at the versions pinned in package-lock.json; served by the app.
    ("govuk", BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk"),
    ("moj", BASE_DIR / "node_modules" / "@ministryofjustice" / "frontend" / "moj"),
]
# GOV.UK Frontend's compiled CSS asks for its fonts and images at /assets/.
WHITENOISE_ROOT = BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "/staff/login/"

# --- Sessions and security -------------------------------------------------
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60)  # idle timeout, seconds
SESSION_SAVE_EVERY_REQUEST = True  # sliding expiry: activity extends the session
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# A GOV.UK page that says why (page open too long, cookies off) and leads back to the journey.
CSRF_FAILURE_VIEW = "intake.views.csrf_failure"
SECURE = not (DEBUG or TESTING) and env_bool("DJANGO_SECURE", True)
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000) if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}

# --- Email ------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "no-reply@safeguarding-partnership.example")
ANYMAIL = {key[len("ANYMAIL_") :]: value for key, value in os.environ.items() if key.startswith("ANYMAIL_") and value}
# A hung SMTP connection must fail (and be retried by the outbox) before the task timeout kills the worker.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
# Outbox retries: back-off base * 2**(attempt-1), capped; after the last attempt the row is "gave_up".
EMAIL_OUTBOX_MAX_ATTEMPTS = env_int("EMAIL_OUTBOX_MAX_ATTEMPTS", 8)
EMAIL_OUTBOX_RETRY_BASE_SECONDS = env_int("EMAIL_OUTBOX_RETRY_BASE_SECONDS", 120)
EMAIL_OUTBOX_RETRY_MAX_SECONDS = env_int("EMAIL_OUTBOX_RETRY_MAX_SECONDS", 6 * 60 * 60)
# How long a "sending" row stays claimed; longer than the task timeout so a live send is never doubled.
EMAIL_OUTBOX_LEASE_SECONDS = env_int("EMAIL_OUTBOX_LEASE_SECONDS", 300)
# How often the scheduled outbox_retry sweep runs.
EMAIL_OUTBOX_SWEEP_MINUTES = env_int("EMAIL_OUTBOX_SWEEP_MINUTES", 5)

# --- Task queue (django-q2) -------------------------------------------------
REDIS_URL = env("REDIS_URL")
Q_TIMEOUT_SECONDS = env_int("Q_TIMEOUT", 120)
Q_RETRY_SECONDS = env_int("Q_RETRY", 180)
Q_CLUSTER: dict[str, object] = {
    "name": "safeguarding",
    "workers": env_int("Q_WORKERS", 2),
    # retry must exceed timeout, or a slow task runs twice (django-q issues #307, #344).
    "timeout": Q_TIMEOUT_SECONDS,
    "retry": Q_RETRY_SECONDS,
    # Bounds tasks that fail or time out. A worker that dies is not counted (django-q2 #327) and the
    # Redis broker does not redeliver at all, so the email outbox keeps its own attempts and lease.
    "max_attempts": 5,
    "ack_failures": True,
    "save_limit": 1000,
    # Missed schedules run once, not once per missed slot, after downtime.
    "catch_up": False,
    "label": "Task queue",
    "sync": env_bool("Q_SYNC", False),
}
if Q_RETRY_SECONDS <= Q_TIMEOUT_SECONDS:
    raise ImproperlyConfigured("Q_RETRY must be larger than Q_TIMEOUT, or slow tasks run twice.")
if EMAIL_OUTBOX_LEASE_SECONDS <= Q_TIMEOUT_SECONDS:
    raise ImproperlyConfigured("EMAIL_OUTBOX_LEASE_SECONDS must be larger than Q_TIMEOUT, or a slow send is doubled.")
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.5

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Service settings ---------------------------------------------------------
SERVICE_NAME = env("SERVICE_NAME", "Report a safeguarding practice concern")
PARTNERSHIP_NAME = env("PARTNERSHIP_NAME", "Local Safeguarding Children Partnership")
EMERGENCY_NUMBER = env("EMERGENCY_NUMBER", "999")
FRONT_DOOR_NAME = env("FRONT_DOOR_NAME", "Children's Services Front Door")
FRONT_DOOR_PHONE = env("FRONT_DOOR_PHONE", "01234 567 890")
FRONT_DOOR_OUT_OF_HOURS_PHONE = env("FRONT_DOOR_OUT_OF_HOURS_PHONE", "01234 567 891")
BUSINESS_UNIT_EMAIL = env("BUSINESS_UNIT_EMAIL", "safeguarding.partnership@council.gov.uk")
BUSINESS_UNIT_PHONE = env("BUSINESS_UNIT_PHONE", "01234 567 892")
# Promised in the acknowledgement email: the business unit reviews a submission within this many working days.
BUSINESS_UNIT_REVIEW_WORKING_DAYS = env_int("BUSINESS_UNIT_REVIEW_WORKING_DAYS", 5)
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
# Partner email domains: "*." matches any subdomain. Policy "refuse" or "warn".
PARTNER_EMAIL_DOMAINS = env_list(
    "PARTNER_EMAIL_DOMAINS",
    ["nhs.net", "*.nhs.uk", "*.gov.uk", "*.police.uk", "cjsm.net", "*.cjsm.net", "*.sch.uk"],
)
PARTNER_EMAIL_POLICY = env("PARTNER_EMAIL_POLICY", "refuse")
DRAFT_RETENTION_DAYS = env_int("DRAFT_RETENTION_DAYS", 28)
# Seconds before the idle session expires that the timeout warning opens.
SESSION_WARNING_SECONDS = env_int("SESSION_WARNING_SECONDS", 5 * 60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
