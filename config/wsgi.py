import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def startup_objects_freeze() -> None:
    """Build what every request needs (URL patterns, translations) and move all objects of
    start-up out of the garbage collector's reach.

    A worker holds about 150,000 of them for its life; Python's full collection walked them
    all, a pause of 30 - 80 ms (more on a busy machine) in the middle of one request in ten
    or so, which was most of an Inbox page's p95 (bench/search.py). Frozen, a collection
    walks only what requests made."""
    from django.conf import settings
    from django.urls import get_resolver
    from django.utils import translation

    get_resolver().reverse_dict  # noqa: B018 (reading it builds every pattern)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Inbox")
    gc.collect()
    gc.freeze()


startup_objects_freeze()
