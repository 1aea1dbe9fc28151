from crm.access import is_admin


def navigation(request) -> dict:
    """What the base layout needs on every page: admin flag and unread notifications."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_is_admin": is_admin(user),
        "unread_notification_count": user.notifications.filter(read_at__isnull=True).count(),
    }
