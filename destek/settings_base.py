"""Django settings shared by production (`destek.settings`) and the tests
(`destek.settings_test`), all from typed environment helpers (see `.env.example`).

Importing this module touches no disk: the data directory and the embedded secret key are
made by `destek.settings`, so the tests and mypy (which reads the settings) never write under
DESTEK_DATA_DIR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from destek.lib.env import env_bool, env_int, env_list, env_pairs, env_str
from destek.lib.paths import data_dir, mail_max_mb, mail_spool_dir

BASE_DIR = Path(__file__).resolve().parent
# Whether this is the test suite (destek.settings_test sets it): the outbox heartbeat then
# writes on every claim and starts no thread (destek/notify/claims.py).
TESTING = False

DATA_DIR = data_dir()

DEBUG = env_bool("DESTEK_DEBUG", False)
# Empty here when unset: destek.settings then keeps a random key under DATA_DIR.
SECRET_KEY = env_str("DESTEK_SECRET_KEY")
ALLOWED_HOSTS = env_list("DESTEK_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DESTEK_CSRF_TRUSTED_ORIGINS")
# The public address in mails and links. Unset (or empty), it is this machine on the port
# `destek run` / `make run` serves on, so `PORT=8101 make run` mails links to port 8101.
_PORT = env_int("PORT", 8000)
BASE_URL = (env_str("DESTEK_BASE_URL").strip() or f"http://127.0.0.1:{_PORT}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "ninja",  # serves the API docs page's scripts locally instead of from a CDN
    "destek.lib",
    "destek.accounts",
    "destek.tickets",
    "destek.sla",
    "destek.notify",
    "destek.mail",
    "destek.chat",
    "destek.messaging",
    "destek.kb",
    "destek.automation",
    "destek.surveys",
    "destek.announcements",
    "destek.api",
    "destek.portal",
    "destek.desk",
    "destek.demo",
]

MIDDLEWARE = [
    # /livez and /readyz for load balancers, before the host and HTTPS checks (api/views.py).
    "destek.api.views.Probes",
    "django.middleware.security.SecurityMiddleware",
    "destek.lib.middleware.SecurityHeadersMiddleware",
    "destek.lib.middleware.ApiErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "destek.portal.middleware.PersonalLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "destek.urls"
WSGI_APPLICATION = "destek.wsgi.application"
ASGI_APPLICATION = "destek.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Overrides of Django's own templates (the admin's base_site.html).
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# Database: SQLite (WAL) under DATA_DIR by default; DATABASE_URL for PostgreSQL.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Parameters bound by the server, and a statement run `DESTEK_PG_PREPARE_AFTER` times
        # on a connection is prepared once: PostgreSQL then skips planning it again, which
        # cost more than running most of our one-row statements. 0 turns it off (for a pool
        # in transaction mode that cannot keep prepared statements, such as PgBouncer < 1.21).
        _prepare_after = env_int("DESTEK_PG_PREPARE_AFTER", 2, minimum=0)
        if _prepare_after:
            DATABASES["default"].setdefault("OPTIONS", {}).update(
                server_side_binding=True, prepare_threshold=_prepare_after
            )
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "destek.sqlite3"),
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue on `timeout`
                # instead of one failing with "database is locked" when it upgrades its lock.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "portal:login"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Languages: the five Destek ships. Persian is right to left (Django knows it as bidi).
LANGUAGE_CODE = env_str("DESTEK_LANGUAGE", "en")
LANGUAGES = [
    ("az", _("Azerbaijani")),
    ("en", _("English")),
    ("fa", _("Persian")),
    ("ru", _("Russian")),
    ("tr", _("Turkish")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_str("DESTEK_TIME_ZONE", "Asia/Baku")

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = Path(env_str("DESTEK_MEDIA_DIR", str(DATA_DIR / "media")))


def choose_file_storage() -> dict[str, Any]:
    """Where attachments, raw mail and knowledge-base files live: the file system under
    DESTEK_MEDIA_DIR (a folder the machines share), or an S3-compatible bucket
    (DESTEK_STORAGE=s3). Either way files reach people only through our access-checked views:
    the bucket stays private and its objects are never linked to (destek/lib/storage_s3.py)."""
    kind = env_str("DESTEK_STORAGE", "filesystem").strip().lower() or "filesystem"
    if kind == "filesystem":
        # Written under a temporary name and renamed: a full disk leaves no half-written file.
        return {"BACKEND": "destek.lib.storage.DurableFileSystemStorage"}
    if kind != "s3":
        raise ImproperlyConfigured(f"DESTEK_STORAGE={kind!r}: use filesystem or s3.")
    bucket = env_str("DESTEK_S3_BUCKET").strip()
    if not bucket:
        raise ImproperlyConfigured("DESTEK_STORAGE=s3 needs DESTEK_S3_BUCKET.")
    key_id = env_str("DESTEK_S3_ACCESS_KEY_ID").strip()
    secret = env_str("DESTEK_S3_SECRET_ACCESS_KEY").strip()
    if bool(key_id) != bool(secret):
        raise ImproperlyConfigured(
            "DESTEK_S3_ACCESS_KEY_ID and DESTEK_S3_SECRET_ACCESS_KEY go together "
            "(or leave both empty for the machine's own credentials)."
        )
    addressing = env_str("DESTEK_S3_ADDRESSING_STYLE").strip().lower()
    if addressing not in ("", "auto", "path", "virtual"):
        raise ImproperlyConfigured(
            f"DESTEK_S3_ADDRESSING_STYLE={addressing!r}: use path, virtual or auto."
        )
    return {
        "BACKEND": "destek.lib.storage_s3.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": env_str("DESTEK_S3_ENDPOINT_URL").strip() or None,
            "region_name": env_str("DESTEK_S3_REGION").strip() or None,
            "access_key": key_id or None,
            "secret_key": secret or None,
            "location": env_str("DESTEK_S3_PREFIX").strip().strip("/"),
            "addressing_style": addressing or None,
            "verify": env_str("DESTEK_S3_CA_FILE").strip() or None,
        },
    }


STORAGES = {
    "default": choose_file_storage(),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Redis: queue, cache and the channel layer of live chat.
REDIS_URL = env_str("REDIS_URL")
# Several installations (or test runs) may share one Redis, as with DESTEK_HUEY_NAME.
CACHE_PREFIX = env_str("DESTEK_CACHE_PREFIX", "destek")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_PREFIX,
        }
    }
else:
    # File cache: shared by the web and worker processes of one machine (worker heartbeat).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# Channels (live chat, chat/realtime.py): without Redis, one process serves pages, API and /ws/
# (`make run`), so an in-memory layer is enough. With Redis, several `destek ws` processes hear
# what the web processes and workers publish through Redis pub/sub: one PUBLISH per event
# whatever the number of listeners, and nothing left behind by a killed process (the list-based
# layer keeps a killed process's group memberships and queues until they expire). Nothing is
# stored there: the database holds every event, and a socket catches up from it.
if REDIS_URL:
    CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{CACHE_PREFIX}.ws."},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# How often an open chat socket also reads the database for events it has not heard of: those
# written by a process the channel layer does not reach (the worker of `make run`, whose layer
# is in memory), or published while Redis was away. 0 turns it off.
CHAT_WS_CATCHUP_SECONDS = env_int(
    "DESTEK_CHAT_WS_CATCHUP_SECONDS", 30 if REDIS_URL else 2, minimum=0
)

# Huey: SQLite file embedded, Redis in production; inline in tests (destek.settings_test).
HUEY_IMMEDIATE = env_bool("DESTEK_HUEY_IMMEDIATE", False)
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": env_str("DESTEK_HUEY_NAME", "destek"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "consumer": {
            "workers": env_int("DESTEK_WORKER_THREADS", 4, minimum=1),
            "worker_type": "thread",
        },
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "destek",
        "filename": str(DATA_DIR / "huey.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "consumer": {
            "workers": env_int("DESTEK_WORKER_THREADS", 2, minimum=1),
            "worker_type": "thread",
        },
    }

# Mail.
DESTEK_DEMO = env_bool("DESTEK_DEMO", False)


def choose_email_backend() -> str:
    """SMTP, unless this is the demo without a mail server: then every mail is kept in the
    demo mailbox (/desk/demo-mail/) and printed in the terminal. DESTEK_SMTP_HOST (or
    DESTEK_EMAIL_BACKEND) set explicitly sends the demo's mail too."""
    explicit = env_str("DESTEK_EMAIL_BACKEND")
    if explicit == "destek.notify.demo_mail.DemoMailBackend" and not env_bool("DESTEK_DEMO", False):
        # Kept mail holds sign-up links and one-time codes: only the demo may keep it.
        raise ImproperlyConfigured(
            "DESTEK_EMAIL_BACKEND: the demo mailbox backend needs DESTEK_DEMO=1."
        )
    if explicit:
        return explicit
    if env_bool("DESTEK_DEMO", False) and not env_str("DESTEK_SMTP_HOST"):
        return "destek.notify.demo_mail.DemoMailBackend"
    return "django.core.mail.backends.smtp.EmailBackend"


EMAIL_BACKEND = choose_email_backend()
EMAIL_HOST = env_str("DESTEK_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = env_int("DESTEK_SMTP_PORT", 25)
EMAIL_HOST_USER = env_str("DESTEK_SMTP_USER")
EMAIL_HOST_PASSWORD = env_str("DESTEK_SMTP_PASSWORD")
EMAIL_USE_TLS = env_bool("DESTEK_SMTP_STARTTLS", False)
EMAIL_USE_SSL = env_bool("DESTEK_SMTP_SSL", False)
EMAIL_TIMEOUT = env_int("DESTEK_SMTP_TIMEOUT", 20, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DESTEK_FROM_EMAIL", "Destek Support <support@destek.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
DESTEK_SUPPORT_ADDRESS = env_str("DESTEK_SUPPORT_ADDRESS", "support@destek.localhost")

# Knowledge base.
DESTEK_KB_VIDEO_HOSTS = frozenset(
    host.lower()
    for host in env_list(
        "DESTEK_KB_VIDEO_HOSTS",
        ["www.youtube.com", "youtube.com", "m.youtube.com", "youtu.be", "vimeo.com"],
    )
)

# Inbound mail.
DESTEK_MAIL_RAW_DAYS = env_int("DESTEK_MAIL_RAW_DAYS", 30, minimum=1)
DESTEK_MAIL_MAX_MB = mail_max_mb()
DESTEK_MAIL_MAX_PARTS = env_int("DESTEK_MAIL_MAX_PARTS", 100, minimum=1)
DESTEK_MAIL_MAX_DEPTH = env_int("DESTEK_MAIL_MAX_DEPTH", 10, minimum=1)
# Mail piped in by `destek ingest-email` waits here for the worker (see destek/mail/spool.py).
DESTEK_MAIL_SPOOL_DIR = mail_spool_dir()
DESTEK_MAIL_PER_SENDER_PER_HOUR = env_int("DESTEK_MAIL_PER_SENDER_PER_HOUR", 30, minimum=1)
DESTEK_MAIL_NOTE_MARKER = env_str("DESTEK_MAIL_NOTE_MARKER", "#note")
# Whose Authentication-Results we believe (our own mail servers' authserv-ids); empty: none,
# and no inbound mail is checked. What happens without a verdict: off | when-present | always.
DESTEK_MAIL_TRUSTED_AUTHSERV_IDS = frozenset(
    name.lower() for name in env_list("DESTEK_MAIL_TRUSTED_AUTHSERV_IDS")
)
DESTEK_MAIL_REQUIRE_AUTH = env_str("DESTEK_MAIL_REQUIRE_AUTH", "when-present").strip().lower()
if DESTEK_MAIL_REQUIRE_AUTH not in ("off", "when-present", "always"):
    raise ImproperlyConfigured(
        f"DESTEK_MAIL_REQUIRE_AUTH={DESTEK_MAIL_REQUIRE_AUTH!r}: use off, when-present or always."
    )
DESTEK_MAIL_CONFIRM_DAYS = env_int("DESTEK_MAIL_CONFIRM_DAYS", 14, minimum=1)
# IMAP mailboxes (destek/mail/imap.py; the mailboxes themselves are configured in the admin).
DESTEK_IMAP_BATCH = env_int("DESTEK_IMAP_BATCH", 50, minimum=1)
DESTEK_IMAP_TIMEOUT = env_int("DESTEK_IMAP_TIMEOUT", 60, minimum=1)
DESTEK_IMAP_CA_FILE = env_str("DESTEK_IMAP_CA_FILE")
DESTEK_IMAP_REFUSED_FOLDER = env_str("DESTEK_IMAP_REFUSED_FOLDER", "Destek/Refused")
# The built-in SMTP/LMTP listener, `destek smtpd` (destek/mail/smtpd.py).
DESTEK_SMTPD_HOST = env_str("DESTEK_SMTPD_HOST", "127.0.0.1")
DESTEK_SMTPD_PORT = env_int("DESTEK_SMTPD_PORT", 8025, minimum=1)
DESTEK_SMTPD_LMTP = env_bool("DESTEK_SMTPD_LMTP", False)

# Ticket rules.
DESTEK_MAX_ATTACHMENT_MB = env_int("DESTEK_MAX_ATTACHMENT_MB", 25, minimum=1)
DESTEK_PENDING_AUTO_CLOSE_DAYS = env_int("DESTEK_PENDING_AUTO_CLOSE_DAYS", 30, minimum=1)
DESTEK_RESOLVED_AUTO_CLOSE_DAYS = env_int("DESTEK_RESOLVED_AUTO_CLOSE_DAYS", 7, minimum=1)
DESTEK_REOPEN_WINDOW_DAYS = env_int("DESTEK_REOPEN_WINDOW_DAYS", 30, minimum=0)
# Satisfaction surveys (destek/surveys): business minutes after `resolved`, on the ticket's
# calendar (0 = at once); at most one survey per customer in this many days; at most this
# many answers (or attempts) per ticket in an hour.
# Service status notices: a subscriber gets at most one mail per incident in this many
# minutes (later updates are gathered into one); maintenance is reminded this long before.
DESTEK_STATUS_NOTICE_MINUTES = env_int("DESTEK_STATUS_NOTICE_MINUTES", 10, minimum=0)
DESTEK_MAINTENANCE_REMIND_MINUTES = env_int("DESTEK_MAINTENANCE_REMIND_MINUTES", 60, minimum=0)
DESTEK_SURVEY_DELAY_MINUTES = env_int("DESTEK_SURVEY_DELAY_MINUTES", 60, minimum=0)
DESTEK_SURVEY_EVERY_DAYS = env_int("DESTEK_SURVEY_EVERY_DAYS", 7, minimum=0)
DESTEK_SURVEY_ANSWERS_PER_HOUR = env_int("DESTEK_SURVEY_ANSWERS_PER_HOUR", 20, minimum=1)
# Webhooks (automation/webhooks.py): targets on private, loopback, link-local, multicast or
# reserved addresses are refused at creation and at send time unless this is set.
DESTEK_WEBHOOKS_ALLOW_PRIVATE = env_bool("DESTEK_WEBHOOKS_ALLOW_PRIVATE", False)
DESTEK_WEBHOOKS_GIVE_UP_HOURS = env_int("DESTEK_WEBHOOKS_GIVE_UP_HOURS", 24, minimum=1)
# How often a process asks the shared cache whether the admin's configuration changed
# (destek/lib/config_cache.py); the process that saved a change sees it at once.
DESTEK_CONFIG_RECHECK_MS = env_int("DESTEK_CONFIG_RECHECK_MS", 1000, minimum=0)
# The longest a process keeps a configuration copy, even when no change was announced (a
# version bump lost to a shared-cache outage at the moment of a save).
DESTEK_CONFIG_MAX_AGE_S = env_int("DESTEK_CONFIG_MAX_AGE_S", 300, minimum=0)
# The longest the status page waits for PostgreSQL (each statement, milliseconds) before it
# shows its last good copy instead ("Shown as of ..."); 0 waits as long as it takes.
DESTEK_STATUS_DB_TIMEOUT_MS = env_int("DESTEK_STATUS_DB_TIMEOUT_MS", 2000, minimum=0)
DESTEK_DUPLICATE_WINDOW_HOURS = env_int("DESTEK_DUPLICATE_WINDOW_HOURS", 24, minimum=1)
DESTEK_NOTIFY_AGENTS_ON_NEW = env_bool("DESTEK_NOTIFY_AGENTS_ON_NEW", True)
DESTEK_OUTBOX_GIVE_UP_HOURS = env_int("DESTEK_OUTBOX_GIVE_UP_HOURS", 72, minimum=1)
# Outbox reliability (destek/notify/claims.py, journal.py, jobs.py).
DESTEK_OUTBOX_CLAIM_STALE_SECONDS = env_int("DESTEK_OUTBOX_CLAIM_STALE_SECONDS", 60, minimum=20)
DESTEK_OUTBOX_SWEEP_SECONDS = env_int("DESTEK_OUTBOX_SWEEP_SECONDS", 50, minimum=1)
DESTEK_OUTBOX_JOURNAL_DIR = Path(
    env_str("DESTEK_OUTBOX_JOURNAL_DIR") or str(DATA_DIR / "outbox-journal")
)
DESTEK_OUTBOX_JOURNAL_FSYNC = True
# /healthz thresholds (destek/api/views.py).
DESTEK_HEALTH_WORKER_MAX_AGE = env_int("DESTEK_HEALTH_WORKER_MAX_AGE", 120, minimum=30)
DESTEK_HEALTH_STARTUP_GRACE = env_int("DESTEK_HEALTH_STARTUP_GRACE", 120, minimum=0)
DESTEK_HEALTH_DISK_MIN_MB = env_int("DESTEK_HEALTH_DISK_MIN_MB", 200, minimum=0)
DESTEK_HEALTH_OUTBOX_MAX_DUE = env_int("DESTEK_HEALTH_OUTBOX_MAX_DUE", 1000, minimum=1)
DESTEK_HEALTH_OUTBOX_MAX_DELAY = env_int("DESTEK_HEALTH_OUTBOX_MAX_DELAY", 900, minimum=60)
# A database outage or a full disk is logged once per kind per this many seconds, per process.
DESTEK_ERROR_LOG_INTERVAL = env_int("DESTEK_ERROR_LOG_INTERVAL", 60, minimum=1)
DESTEK_AUTOMAIL_PER_HOUR = env_int("DESTEK_AUTOMAIL_PER_HOUR", 20, minimum=1)
DESTEK_AUTOMAIL_PER_DAY = env_int("DESTEK_AUTOMAIL_PER_DAY", 100, minimum=1)
# Automatic answers to mail whose sender was not authenticated: a tighter cap of their own.
DESTEK_AUTOMAIL_UNVERIFIED_PER_HOUR = env_int("DESTEK_AUTOMAIL_UNVERIFIED_PER_HOUR", 3, minimum=1)
DESTEK_AUTOMAIL_UNVERIFIED_PER_DAY = env_int("DESTEK_AUTOMAIL_UNVERIFIED_PER_DAY", 10, minimum=1)
# Security mail (password reset, sign-up link, new sign-in...) is never held by the caps
# above; each kind has its own limit per address.
DESTEK_SECURITY_MAIL_PER_HOUR = env_int("DESTEK_SECURITY_MAIL_PER_HOUR", 10, minimum=1)
DESTEK_SECURITY_MAIL_PER_DAY = env_int("DESTEK_SECURITY_MAIL_PER_DAY", 40, minimum=1)
# SMS notices through an HTTP gateway (destek/notify/sms.py); an empty URL switches SMS off.
DESTEK_SMS_GATEWAY_URL = env_str("DESTEK_SMS_GATEWAY_URL")
DESTEK_SMS_GATEWAY_METHOD = env_str("DESTEK_SMS_GATEWAY_METHOD", "POST").strip().upper()
DESTEK_SMS_GATEWAY_BODY = env_str("DESTEK_SMS_GATEWAY_BODY", '{"to": "{to}", "text": "{text}"}')
DESTEK_SMS_GATEWAY_AUTH_HEADER = env_str("DESTEK_SMS_GATEWAY_AUTH_HEADER")
DESTEK_SMS_SENDER = env_str("DESTEK_SMS_SENDER", "Destek")
DESTEK_SMS_TIMEOUT = env_int("DESTEK_SMS_TIMEOUT", 10, minimum=1)
DESTEK_SMS_DEFAULT_REGION = env_str("DESTEK_SMS_DEFAULT_REGION", "AZ").strip().upper()
DESTEK_TICKETS_PER_HOUR = env_int("DESTEK_TICKETS_PER_HOUR", 30, minimum=1)
DESTEK_MESSAGES_PER_HOUR = env_int("DESTEK_MESSAGES_PER_HOUR", 240, minimum=1)
# CC (destek/tickets/actions/people.py): addresses copied on one ticket at most, and how many
# one person may add per hour (each one is mailed: a cap on using us to mail strangers).
DESTEK_CC_PER_TICKET = env_int("DESTEK_CC_PER_TICKET", 10, minimum=1)
DESTEK_CC_ADDED_PER_HOUR = env_int("DESTEK_CC_ADDED_PER_HOUR", 20, minimum=1)
DESTEK_API_PAGE_SIZE = env_int("DESTEK_API_PAGE_SIZE", 50, minimum=1)
# Live chat (destek/chat/queue.py, actions.py). The chat calendar is the name of a business
# calendar (sla); empty: chat is open around the clock whenever an agent is online.
DESTEK_CHAT_CALENDAR = env_str("DESTEK_CHAT_CALENDAR", "24/7" if DESTEK_DEMO else "")
DESTEK_CHAT_MAX_QUEUE = env_int("DESTEK_CHAT_MAX_QUEUE", 20, minimum=1)
# How long after a chat ended its visitor's token still reads it (the end, the transcript,
# the rating); then it reads nothing.
DESTEK_CHAT_TOKEN_HOURS = env_int("DESTEK_CHAT_TOKEN_HOURS", 24, minimum=1)
DESTEK_CHAT_HEARTBEAT_SECONDS = env_int("DESTEK_CHAT_HEARTBEAT_SECONDS", 60, minimum=5)
DESTEK_CHAT_MAX_PER_AGENT = env_int("DESTEK_CHAT_MAX_PER_AGENT", 3, minimum=1)
DESTEK_CHAT_OFFER_SECONDS = env_int("DESTEK_CHAT_OFFER_SECONDS", 30, minimum=5)
DESTEK_CHAT_WAIT_SAMPLE = env_int("DESTEK_CHAT_WAIT_SAMPLE", 20, minimum=1)
DESTEK_CHAT_BODY_MAX = env_int("DESTEK_CHAT_BODY_MAX", 5000, minimum=100)

# Messengers (destek/messaging): the Telegram Bot API (a channel may name its own, for a
# self-hosted Bot API server), the largest webhook body accepted, and how long a call may take.
DESTEK_TELEGRAM_API_URL = (
    env_str("DESTEK_TELEGRAM_API_URL", "https://api.telegram.org").strip().rstrip("/")
)
# Meta's Graph API (WhatsApp Cloud API, Messenger, Instagram): its address and version.
DESTEK_GRAPH_API_URL = (
    env_str("DESTEK_GRAPH_API_URL", "https://graph.facebook.com").strip().rstrip("/")
)
DESTEK_GRAPH_API_VERSION = env_str("DESTEK_GRAPH_API_VERSION", "v21.0").strip().strip("/")
DESTEK_MESSAGING_WEBHOOK_MAX_BYTES = env_int(
    "DESTEK_MESSAGING_WEBHOOK_MAX_BYTES", 1024 * 1024, minimum=1024
)
DESTEK_MESSAGING_TIMEOUT = env_int("DESTEK_MESSAGING_TIMEOUT", 10, minimum=1)
# How long a deep link or a mailed code that links a messenger contact to an account lasts.
DESTEK_MESSENGER_LINK_MINUTES = env_int("DESTEK_MESSENGER_LINK_MINUTES", 30, minimum=1)
DESTEK_CHAT_STARTS_PER_HOUR = env_int("DESTEK_CHAT_STARTS_PER_HOUR", 5, minimum=1)
DESTEK_CHAT_STARTS_PER_IP_HOUR = env_int("DESTEK_CHAT_STARTS_PER_IP_HOUR", 20, minimum=1)
DESTEK_CHAT_MESSAGES_PER_MINUTE = env_int("DESTEK_CHAT_MESSAGES_PER_MINUTE", 30, minimum=1)
DESTEK_CHAT_MESSAGES_PER_IP_MINUTE = env_int("DESTEK_CHAT_MESSAGES_PER_IP_MINUTE", 120, minimum=1)
# Open chat sockets per client address in one `destek ws` process (an office behind one
# address has many agents and visitors; one address opening thousands is refused, 4429).
DESTEK_CHAT_SOCKETS_PER_ADDRESS = env_int("DESTEK_CHAT_SOCKETS_PER_ADDRESS", 200, minimum=1)
# Ticket search: a changed ticket's words are rebuilt this many seconds later, once for all
# the changes in between (0: at once, after the change commits).
#: Agents log the time they spend on a ticket (the ticket page, the API, reports).
DESTEK_TIME_TRACKING = env_bool("DESTEK_TIME_TRACKING", True)
DESTEK_SEARCH_DELAY_SECONDS = env_int("DESTEK_SEARCH_DELAY_SECONDS", 5, minimum=0)
# API tokens end after this many days without use; each person keeps at most this many.
DESTEK_API_TOKEN_IDLE_DAYS = env_int("DESTEK_API_TOKEN_IDLE_DAYS", 30, minimum=1)
DESTEK_API_TOKENS_PER_USER = env_int("DESTEK_API_TOKENS_PER_USER", 10, minimum=1)
DESTEK_TRUSTED_PROXIES = env_int("DESTEK_TRUSTED_PROXIES", 0, minimum=0)
DESTEK_SIGNUP = env_bool("DESTEK_SIGNUP", True)
DESTEK_SIGNUP_LINK_HOURS = env_int("DESTEK_SIGNUP_LINK_HOURS", 24, minimum=1)
PASSWORD_RESET_TIMEOUT = env_int("DESTEK_PASSWORD_RESET_MINUTES", 60, minimum=5) * 60

FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Security headers; production sets DESTEK_HTTPS=1 behind TLS.
HTTPS = env_bool("DESTEK_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = HTTPS and env_bool("DESTEK_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = env_int("DESTEK_HSTS_SECONDS", 31_536_000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# The chat widget (/chat/widget/) on other sites: the one page that may be framed, by these
# ancestors (a CSP frame-ancestors source list; "*" = any site; empty = only the portal's own
# pages); every other page denies it.
DESTEK_CHAT_FRAME_ANCESTORS = env_str("DESTEK_CHAT_FRAME_ANCESTORS", "*").strip()
# Sites that vouch for their signed-in users in the widget: name=secret pairs. Each signs
# "<user_id>:<email>:<timestamp>" with HMAC-SHA256 (README: "Live chat on your own site").
DESTEK_CHAT_SITES = env_pairs("DESTEK_CHAT_SITES")
# How old a site's signature may be when the widget opens.
DESTEK_CHAT_IDENTITY_MAX_AGE = env_int("DESTEK_CHAT_IDENTITY_MAX_AGE", 600, minimum=30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DESTEK_LOG_LEVEL", "INFO")},
    # The Huey consumer installs its own handler; not propagating avoids every line twice.
    # httpx logs each request's URL at INFO; the Telegram Bot API's URLs carry the bot token.
    "loggers": {
        "huey": {"level": "INFO", "propagate": False},
        "httpx": {"level": "WARNING"},
    },
}

# The reports' covering indexes (tickets.Ticket.Meta) carry extra columns on PostgreSQL only;
# SQLite builds them as plain indexes, which is all a small install needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
