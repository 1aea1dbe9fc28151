"""The site's URLs plus one view that fails, to see how a server error is logged."""

from django.urls import include, path


def broken_view(request):
    raise RuntimeError("the database exploded")


urlpatterns = [
    path("broken/", broken_view),
    path("", include("config.urls")),
]
