"""The same settings with the async views as the URLconf (see async_app.py)."""

from servers.django.settings import *  # noqa: F401,F403

ROOT_URLCONF = "servers.django.async_app"
