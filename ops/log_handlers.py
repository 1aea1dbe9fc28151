"""Log handlers of ``LOGGING`` (config/settings.py), imported while the settings load: this
module imports no model and reads no setting before a record comes."""

from __future__ import annotations

import logging

from django.utils import log
from django.utils.functional import cached_property
from django.utils.module_loading import import_string


class AdminEmailHandler(log.AdminEmailHandler):
    """Django's ``mail_admins`` handler (server errors mailed to ``ADMINS``), which imports
    its exception reporter with the first record it mails instead of when logging is set up.

    Django's imports ``DEFAULT_EXCEPTION_REPORTER`` (``django.views.debug``: templates, URL
    resolving, HTTP) in its ``__init__``, so every process paid for the error page, a fetch
    and a worker too, that never serve one."""

    def __init__(self, include_html=False, email_backend=None, reporter_class=None) -> None:
        logging.Handler.__init__(self)  # not Django's __init__: it imports the reporter
        self.include_html = include_html
        self.email_backend = email_backend
        self.reporter_class_path = reporter_class

    @cached_property
    def reporter_class(self) -> type:
        from django.conf import settings

        return import_string(self.reporter_class_path or settings.DEFAULT_EXCEPTION_REPORTER)
