"""Gunicorn reads this file from the working directory: its own log lines go through the service's
LOGGING (config/logs.py), so with `LOG_FORMAT=json` every line gunicorn writes is JSON too."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings

logconfig_dict = settings.LOGGING
# The default access line, plus the request id the service answered with (the same as on Django's lines).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" request_id=%({x-request-id}o)s'
