"""Roles in teams (``TeamMembership.position``): what exists, spelled one way."""

from __future__ import annotations

from collections.abc import Iterable

from crm.models import TeamMembership


def position_normalize(text: str) -> str:
    """A role in a team as stored and compared: trimmed, inner whitespace collapsed."""
    return " ".join((text or "").split())


def team_positions(team_ids: Iterable[int] | None = None) -> dict[int, list[str]]:
    """The roles members hold, per team id, sorted; one spelling per role (case-insensitive,
    as case distribution compares them). ``team_ids=None``: every team."""
    memberships = TeamMembership.objects.exclude(position="")
    if team_ids is not None:
        memberships = memberships.filter(team_id__in=list(team_ids))
    seen: dict[int, dict[str, str]] = {}
    for team_id, position in memberships.values_list("team_id", "position").order_by("pk"):
        seen.setdefault(team_id, {}).setdefault(position.casefold(), position)
    return {
        team_id: sorted(spellings.values(), key=str.casefold) for team_id, spellings in seen.items()
    }


def known_positions() -> list[str]:
    """Every role held in any team, for suggesting one when a membership is edited."""
    spellings: dict[str, str] = {}
    for positions in team_positions().values():
        for position in positions:
            spellings.setdefault(position.casefold(), position)
    return sorted(spellings.values(), key=str.casefold)
