"""posdesk settings. Every value comes from an environment variable with an embedded default;
`.env.example` documents each one. Nothing here is edited per deployment."""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext_lazy as _

from config.env import data_dir, env

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DIR = BASE_DIR / "posdesk"
DATA_DIR = data_dir()

# --- deployment profile -------------------------------------------------------------------
# POSDESK_ENV=production switches on every transport-security default; each one can still be
# overridden by its own variable (e.g. behind a TLS-terminating proxy on loopback).
PRODUCTION = env.str("POSDESK_ENV", default="embedded") == "production"
DEBUG = env.bool("POSDESK_DEBUG", default=False)
_DEV_SECRET = "posdesk-embedded-insecure-key-change-me-0123456789abcdefghijklmnop"  # noqa: S105
SECRET_KEY = env.str("POSDESK_SECRET_KEY", default="" if PRODUCTION else _DEV_SECRET)
if not SECRET_KEY:
    raise RuntimeError("POSDESK_SECRET_KEY must be set when POSDESK_ENV=production")
ALLOWED_HOSTS = env.list("POSDESK_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("POSDESK_CSRF_TRUSTED_ORIGINS", default=[])

SECURE_SSL_REDIRECT = env.bool("POSDESK_SECURE_SSL_REDIRECT", default=PRODUCTION)
SESSION_COOKIE_SECURE = env.bool("POSDESK_SECURE_COOKIES", default=PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("POSDESK_HSTS_SECONDS", default=31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("POSDESK_BEHIND_PROXY", default=False) else None
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("POSDESK_SESSION_SECONDS", default=12 * 3600)

# --- applications -------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "ninja",
    "django_htmx",
    "template_partials",
    # domain apps, lowest layer first (docs/architecture.md)
    "posdesk.core",
    "posdesk.accounts",
    "posdesk.audit",
    "posdesk.merchants",
    "posdesk.contact",
    "posdesk.terminals",
    "posdesk.outbox",
    "posdesk.slas",
    "posdesk.routing",
    "posdesk.tickets",
    "posdesk.knowledge",
    "posdesk.incidents",
    "posdesk.triage",
    "posdesk.channels",
    # adapters
    "posdesk.console",
    "posdesk.portal",
    "posdesk.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "posdesk.core.middleware.RequestLogMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
    }
]

# --- database -----------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'posdesk.sqlite3'}"),
}
ON_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a health check that looks at the socket instead of a round trip
    DATABASES["default"]["ENGINE"] = "posdesk.core.postgresql"
if ON_SQLITE:
    # Django's backend, remembering each statement's rewrite to sqlite3's placeholders
    DATABASES["default"]["ENGINE"] = "posdesk.core.sqlite"
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock up front so
        # two writers queue on `timeout` instead of failing with "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
# Keep each worker's connection between requests: opening one costs more than a whole simple
# request (on SQLite the PRAGMAs run again; measured: bench/RESULTS.md). 0 closes after each request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("POSDESK_DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Server-side binding lets psycopg prepare a statement it has run five times on a connection, so
# the queue's queries are planned once, not on every request (measured: bench/RESULTS.md). Turn it
# off behind a transaction-pooling PgBouncer, which cannot keep prepared statements.
if not ON_SQLITE and env.bool(
    "POSDESK_DB_SERVER_SIDE_BINDING", default=True
):
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (login throttling, OTP attempts) ------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# --- auth ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:queue"
LOGIN_FAILURES_ALLOWED = env.int("POSDESK_LOGIN_FAILURES_ALLOWED", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("POSDESK_LOGIN_LOCKOUT_SECONDS", default=900)
OTP_TTL_SECONDS = env.int("POSDESK_OTP_TTL_SECONDS", default=300)
OTP_RESEND_SECONDS = env.int("POSDESK_OTP_RESEND_SECONDS", default=60)

# --- i18n ---------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

# --- static and uploads -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.str("POSDESK_STATIC_ROOT", default=str(DATA_DIR / "static"))
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = env.str("POSDESK_MEDIA_ROOT", default=str(DATA_DIR / "media"))
MEDIA_URL = "/media/"
ATTACHMENT_MAX_BYTES = env.int("POSDESK_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = ATTACHMENT_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- tickets ------------------------------------------------------------------------------
TICKET_REOPEN_WINDOW_DAYS = env.int("POSDESK_REOPEN_WINDOW_DAYS", default=7)
# Service standards (C2): the calendar of teams without their own, the share of a target after
# which a ticket is "at risk", and how long a process keeps the policies it has read.
SLA_DEFAULT_CALENDAR = env.str("POSDESK_SLA_DEFAULT_CALENDAR", default="standard")
SLA_AT_RISK_PERCENT = env.int("POSDESK_SLA_AT_RISK_PERCENT", default=75)
SLA_CONFIG_TTL_SECONDS = env.float("POSDESK_SLA_CONFIG_TTL_SECONDS", default=30.0)
# Jobs started by commits (outbox delivery, routing new tickets) are coalesced: one run per
# process per window (0 = one per commit); see posdesk/core/jobs.py.
JOB_KICK_WINDOW_SECONDS = env.float("POSDESK_JOB_KICK_SECONDS", default=0.2)
IDEMPOTENCY_TTL_HOURS = env.int("POSDESK_IDEMPOTENCY_TTL_HOURS", default=48)

# --- background jobs (Celery) -------------------------------------------------------------
# Embedded default: kombu's filesystem transport, a real queue that needs no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
_QUEUE_DIR = DATA_DIR / "queue"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("messages", "processed", "control"):
        (_QUEUE_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_QUEUE_DIR / "messages"),
        "data_folder_out": str(_QUEUE_DIR / "messages"),
        "processed_folder": str(_QUEUE_DIR / "processed"),
        "control_folder": str(_QUEUE_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# the contact gate (C4) asks again before a deferred message is sent (outbox sits below it)
OUTBOX_DELIVERY_GATE = "posdesk.contact.services.contact_recheck_for_delivery"
OUTBOX_BACKENDS = {
    "sms": "posdesk.channels.sms.outbound.deliver_sms",
    "email": "posdesk.channels.mail.outbound.deliver_email",
    "wechat": "posdesk.channels.wechat.outbound.deliver_wechat",
    # a callback the contact gate allows joins the agents' callback queue (a call for an agent to make)
    "phone": "posdesk.channels.phone.callbacks.deliver_callback",
}
# a message claimed longer ago than this is taken to have lost its worker and is sent again (with
# the same idempotency key); keep it above the slowest provider's timeout (Aliyun SMS: 5 s)
OUTBOX_CLAIM_TIMEOUT_SECONDS = env.int("POSDESK_OUTBOX_CLAIM_TIMEOUT_SECONDS", default=600)
CONTACT_RULES_TTL_SECONDS = env.int("POSDESK_CONTACT_RULES_TTL_SECONDS", default=60)
# WeChat and SMS messages from one merchant within this many hours join their open ticket
CHANNEL_CONVERSATION_HOURS = env.int("POSDESK_CHANNEL_CONVERSATION_HOURS", default=24)
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "posdesk.outbox.tasks.outbox_sweep", "schedule": 30.0},
    "idempotency-prune": {"task": "posdesk.core.tasks.idempotency_prune", "schedule": 3600.0},
}

# full-text search of the ticket list's `q` when it is not an exact number, MID, TID, SN or mobile (C5)
TICKET_TEXT_SEARCH = env.str("POSDESK_TICKET_TEXT_SEARCH", default="posdesk.knowledge.search.ticket_ids_matching")
# knowledge articles are due for review this many days after each save or review (C5)
KNOWLEDGE_REVIEW_DAYS = env.int("POSDESK_KNOWLEDGE_REVIEW_DAYS", default=180)
# how an answer to a ticket reaches the merchant (e-mail thread, WeChat, else SMS): channels decide
TICKET_REPLY_ROUTER = "posdesk.channels.replies.reply_route"
# --- triage (C6) and self-service answers (C5) --------------------------------------------
# the job every new ticket's commit starts (coalesced): triage, then incidents, answers and routing
TICKET_INTAKE_JOB = "posdesk.triage.tasks.tickets_intake_task"
# a self-service answer is sent only when triage is at least this sure of the ticket's category
TRIAGE_SELF_SERVICE_CONFIDENCE = env.float("POSDESK_TRIAGE_SELF_SERVICE_CONFIDENCE", default=0.8)
# an open ticket of the same merchant (and terminal) with similar words this many days back is a possible duplicate
TRIAGE_DUPLICATE_DAYS = env.int("POSDESK_TRIAGE_DUPLICATE_DAYS", default=3)
# routing's minute sweep places a ticket once triage has classified it, or when it has waited this long (triage down)
ROUTING_TRIAGE_GRACE_SECONDS = env.int("POSDESK_ROUTING_TRIAGE_GRACE_SECONDS", default=180)
CELERY_BEAT_SCHEDULE["triage-sweep"] = {"task": "posdesk.triage.tasks.tickets_triage_sweep_task", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["mail-fetch"] = {"task": "posdesk.channels.tasks.mail_fetch_task", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["inbound-sweep"] = {"task": "posdesk.channels.tasks.inbound_sweep_task", "schedule": 60.0}

# --- channels (C3) ------------------------------------------------------------------------
# e-mail in: an IMAP mailbox polled every minute (empty host: e-mail intake off)
IMAP_HOST = env.str("POSDESK_IMAP_HOST", default="")
IMAP_PORT = env.int("POSDESK_IMAP_PORT", default=993)
IMAP_SSL = env.bool("POSDESK_IMAP_SSL", default=True)
IMAP_USER = env.str("POSDESK_IMAP_USER", default="")
IMAP_PASSWORD = env.str("POSDESK_IMAP_PASSWORD", default="")
IMAP_FOLDER = env.str("POSDESK_IMAP_FOLDER", default="INBOX")
MAIL_DOMAIN = env.str("POSDESK_MAIL_DOMAIN", default="posdesk.local")  # right of @ in our Message-IDs
# WeChat Official Account (empty token: the WeChat endpoint answers 404)
WECHAT_TOKEN = env.str("POSDESK_WECHAT_TOKEN", default="")
WECHAT_ENCODING_AES_KEY = env.str("POSDESK_WECHAT_AES_KEY", default="")
WECHAT_APP_ID = env.str("POSDESK_WECHAT_APP_ID", default="")
WECHAT_APP_SECRET = env.str("POSDESK_WECHAT_APP_SECRET", default="")
WECHAT_API_BASE = env.str("POSDESK_WECHAT_API_BASE", default="https://api.weixin.qq.com")
# the account's original id (原始ID, gh_…): a push to another ToUserName is refused (empty: not checked)
WECHAT_ACCOUNT_ID = env.str("POSDESK_WECHAT_ACCOUNT_ID", default="")
# SMS: "local" (the embedded default: a file under the data directory and the log) or "aliyun"
SMS_LOCAL_FILE = env.str("POSDESK_SMS_LOCAL_FILE", default=str(DATA_DIR / "sms-sent.jsonl"))
ALIYUN_SMS_ACCESS_KEY_ID = env.str("POSDESK_ALIYUN_SMS_ACCESS_KEY_ID", default="")
ALIYUN_SMS_ACCESS_KEY_SECRET = env.str("POSDESK_ALIYUN_SMS_ACCESS_KEY_SECRET", default="")
ALIYUN_SMS_SIGN_NAME = env.str("POSDESK_ALIYUN_SMS_SIGN_NAME", default="")
ALIYUN_SMS_TEMPLATE_CODE = env.str("POSDESK_ALIYUN_SMS_TEMPLATE_CODE", default="")
ALIYUN_SMS_ENDPOINT = env.str("POSDESK_ALIYUN_SMS_ENDPOINT", default="https://dysmsapi.aliyuncs.com")
SMS_CALLBACK_SECRET = env.str("POSDESK_SMS_CALLBACK_SECRET", default="")  # signs the gateway's callbacks
# the call centre's webhook and the service standard of a callback (business minutes)
PHONE_WEBHOOK_SECRET = env.str("POSDESK_PHONE_WEBHOOK_SECRET", default="")
CALLBACK_TARGET_MINUTES = env.int("POSDESK_CALLBACK_TARGET_MINUTES", default=15)
# the portal offers a callback when the estimated wait for a first answer is at least this long
PORTAL_CALLBACK_OFFER_MINUTES = env.int("POSDESK_PORTAL_CALLBACK_OFFER_MINUTES", default=10)
# refused inbound calls (forged, stale, malformed, oversized) are kept this many days for the admin
REJECTED_INBOUND_RETENTION_DAYS = env.int("POSDESK_REJECTED_INBOUND_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE["rejected-inbound-purge"] = {
    "task": "posdesk.channels.tasks.rejected_inbound_purge_task",
    "schedule": 3600.0,
}

# --- outbound messages --------------------------------------------------------------------
SMS_BACKEND = env.str("POSDESK_SMS_BACKEND", default="local")
EMAIL_BACKEND = env.str("POSDESK_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("POSDESK_EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("POSDESK_EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("POSDESK_FROM_EMAIL", default="posdesk <service@posdesk.local>")

# --- logging ------------------------------------------------------------------------------
LOG_LEVEL = env.str("POSDESK_LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_personal_data": {"()": "posdesk.core.logging.MaskPersonalDataFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "json_ensure_ascii": False,
        }
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["mask_personal_data"]},
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "celery": {"level": "INFO"},
        # httpx logs each request URL at INFO: WeChat puts the AppSecret and access token in it
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
CELERY_BEAT_SCHEDULE["tickets-sla-sweep"] = {
    "task": "posdesk.tickets.tasks.tickets_sla_sweep_task",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["tickets-route-new"] = {"task": "posdesk.tickets.tasks.tickets_route_new_task", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["tickets-assign-waiting"] = {
    "task": "posdesk.tickets.tasks.tickets_assign_waiting_task",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["tickets-auto-close"] = {
    "task": "posdesk.tickets.tasks.tickets_close_resolved_task",
    "schedule": 900.0,
}

# --- incidents (C7) -----------------------------------------------------------------------
# A spike: at least max(floor, factor × baseline) new tickets of one key in a window ("minutes:floor").
INCIDENT_WINDOWS = env.str("POSDESK_INCIDENT_WINDOWS", default="5:20,15:40")
INCIDENT_SPIKE_FACTOR = env.float("POSDESK_INCIDENT_SPIKE_FACTOR", default=4.0)
# the scope kinds that open an incident at once; the others are proposed to a supervisor
# (response_code_district, response_code, firmware, category_district, terminal_model, category)
INCIDENT_AUTO_OPEN = env.list(
    "POSDESK_INCIDENT_AUTO_OPEN", default=["response_code_district", "response_code", "category_district"])
INCIDENT_BASELINE_WEEKS = env.int("POSDESK_INCIDENT_BASELINE_WEEKS", default=8)
# a dismissed proposal keeps its scope quiet this long, so the same spike is not proposed again
INCIDENT_DISMISS_QUIET_MINUTES = env.int("POSDESK_INCIDENT_DISMISS_QUIET_MINUTES", default=120)
CELERY_BEAT_SCHEDULE["incidents-detector-upkeep"] = {
    "task": "posdesk.incidents.tasks.detector_upkeep_task", "schedule": 3600.0}
