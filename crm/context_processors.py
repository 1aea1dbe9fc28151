from django.conf import settings

from crm.access import is_admin

# url namespace or url-name prefix → the navigation entry it belongs to
_SECTIONS = {
    "mailboxes": "emails",
    "cases": "cases",
    "filters": "emails",
    "administration": "administration",
    "account": "accounts",
    "contact": "contacts",
    "lead": "leads",
    "opportunity": "opportunities",
    "notification": "notifications",
    "notifications": "notifications",
}


def _section(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    if match.namespace in _SECTIONS:
        return _SECTIONS[match.namespace]
    prefix = (match.url_name or "").split("-")[0]
    return _SECTIONS.get(prefix, match.url_name or "")


def navigation(request) -> dict:
    """What the base layout needs on every page: admin flag, unread notifications and which
    navigation entry is the current one (``nav_section``)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    admin = is_admin(user)
    context = {
        "user_is_admin": admin,
        "unread_notification_count": user.notifications.filter(read_at__isnull=True).count(),
        "notification_poll_seconds": settings.POSTACI_NOTIFICATION_POLL_SECONDS,
        "nav_section": _section(request),
    }
    if admin:
        from crm.administration.menu import admin_links

        context["admin_links"] = admin_links()
    return context
