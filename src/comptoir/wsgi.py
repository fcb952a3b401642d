import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comptoir.settings")
application = get_wsgi_application()
# Import every view and build the API now, while the process starts, rather than
# during its first request (half a second that a station or a user would wait).
get_resolver().url_patterns  # noqa: B018
# What was made while starting (modules, settings, URL patterns, the API) lives as long
# as the process: out of the cycle collector's reach, a full collection walks only what
# requests make (it walked it all, about 0.1 s each time, several times per push).
gc.freeze()
