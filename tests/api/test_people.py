"""Notifications (the caller's own), users and teams over the API."""

from __future__ import annotations

from crm.models import Notification, Team, TeamMembership
from crm.notifications import notification_create


def test_notifications_list_and_mark_read(make_user, make_record, api_client):
    me, other = make_user(level="all"), make_user(level="all")
    account = make_record("account", other)
    mine = notification_create(user=me, type=Notification.Type.ASSIGNED, related=account)
    theirs = notification_create(user=other, type=Notification.Type.ASSIGNED, related=account)
    client = api_client(me)
    listed = client.get("/api/v1/notifications/").json()["results"]
    assert [n["id"] for n in listed] == [mine.pk]
    assert listed[0]["related_type"] == "crm.account" and listed[0]["text"]
    assert client.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    assert client.post(f"/api/v1/notifications/{mine.pk}/read/").status_code == 204
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None and theirs.read_at is None
    assert client.get("/api/v1/notifications/", {"unread": "true"}).json()["results"] == []


def test_users_and_teams_are_readable_not_writable(make_user, api_client):
    me = make_user(level="own")
    team = Team.objects.create(name="Support")
    TeamMembership.objects.create(team=team, user=me)
    client = api_client(me)
    users = client.get("/api/v1/users/").json()["results"]
    assert {u["username"] for u in users} >= {me.username}
    assert next(u for u in users if u["id"] == me.pk)["teams"] == [team.pk]
    assert "password" not in users[0]
    assert client.get("/api/v1/teams/").json()["results"] == [{"id": team.pk, "name": "Support"}]
    assert client.post("/api/v1/teams/", {"name": "x"}, format="json").status_code == 405
