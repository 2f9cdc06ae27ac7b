"""Django settings for the JSON endpoints: what serving them needs, nothing more.

No database backend (MongoDB is reached through pymongo, not the ORM), no installed apps and no
middleware: sessions, auth and messages have nothing to do on this JSON API, and each middleware
would run on every request. That includes CSRF: with no cookies or sessions there is no ambient
credential for a forged POST /items to ride on, and CsrfViewMiddleware would refuse the suite's
cookieless POSTs with 403. async_settings.py changes only the URLconf.
"""

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]   # the suite talks to loopback only
SECRET_KEY = "unused"   # nothing here signs anything (no sessions, no CSRF)
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict = {}
USE_I18N = False        # no translation machinery per request
ROOT_URLCONF = "servers.django.sync_app"

# With DEBUG off, Django's default logging sends a 500's traceback only to ADMINS by mail.
# Send tracebacks to stderr (the server log the suite keeps) instead; Django also logs every 5xx
# it returns, but a 503 for an unreachable MongoDB is an answer, not a server error.
def _with_traceback(record):
    return record.exc_info is not None


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"tracebacks": {"()": lambda: _with_traceback}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "filters": ["tracebacks"]}},
    "loggers": {"django": {"handlers": ["stderr"], "level": "ERROR", "propagate": False}},
}
