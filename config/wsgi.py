"""The WSGI application gunicorn serves (`posdesk serve`, production).

Once the application is loaded — settings, apps, and the URL configuration with every view module
it imports — its objects are frozen out of the garbage collector's reach (`gc.freeze`). They live
as long as the process, but without this every full collection walks all of them again: 0.3–0.4
million objects, 90–150 ms during which the worker answers nothing, a few times a minute under
load (bench/RESULTS.md). Collections then walk only what requests create."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 - imports every view module now, before the freeze
gc.freeze()
