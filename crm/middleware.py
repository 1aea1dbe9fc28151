import zoneinfo

from django.utils import timezone, translation


class UserLanguageMiddleware:
    """Use the signed-in user's chosen language over the browser's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)


class UserTimeZoneMiddleware:
    """Show and read times in the signed-in user's time zone (the server's when unset)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        zone = user.time_zone if user is not None and user.is_authenticated else ""
        try:
            if zone:
                timezone.activate(zoneinfo.ZoneInfo(zone))
            else:
                timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
