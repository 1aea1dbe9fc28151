"""The user's time zone: chosen in the preferences, used for every time shown and read."""

from __future__ import annotations

from django.urls import reverse

from crm.models import User


def _preferences(time_zone: str) -> dict:
    return {
        "first_name": "Me",
        "last_name": "Myself",
        "email": "me@example.com",
        "language": "en",
        "time_zone": time_zone,
        "notification_digest": "never",
    }


def test_time_zone_is_chosen_in_the_preferences(make_user, logged_in):
    me = make_user("me")
    client = logged_in(me)
    assert 'value="Europe/Istanbul"' in client.get(reverse("crm:preferences")).content.decode()

    response = client.post(reverse("crm:preferences"), _preferences("Europe/Istanbul"))
    assert response.status_code == 302
    assert User.objects.get(pk=me.pk).time_zone == "Europe/Istanbul"

    response = client.post(reverse("crm:preferences"), _preferences("Mars/Olympus_Mons"))
    assert response.status_code == 200
    assert User.objects.get(pk=me.pk).time_zone == "Europe/Istanbul"


def test_the_middleware_activates_the_users_zone_for_the_request_only(make_user, settings):
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.utils import timezone

    from crm.middleware import UserTimeZoneMiddleware

    settings.TIME_ZONE = "UTC"
    seen = []

    def view(request):
        seen.append(timezone.get_current_timezone_name())
        return HttpResponse()

    request = RequestFactory().get("/")
    request.user = make_user("me")
    UserTimeZoneMiddleware(view)(request)
    request.user.time_zone = "America/New_York"
    UserTimeZoneMiddleware(view)(request)
    request.user.time_zone = "Not/AZone"
    UserTimeZoneMiddleware(view)(request)
    assert seen == ["UTC", "America/New_York", "UTC"]
    assert timezone.get_current_timezone_name() == "UTC"
