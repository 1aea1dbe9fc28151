"""Who may use and who may manage which email templates.

- Using (the picker, inserting, the preview): the user's own private templates, those shared
  with a team they belong to, and those shared with everyone.
- Managing (edit, delete): a non-administrator their own private and team templates;
  administrators every shared template (teams and everyone) and their own. Only
  administrators share with everyone or with teams they are not in. Nobody else's private
  templates are visible to anyone, administrators included.

A template the user cannot see answers 404; one they can see but not manage answers 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from crm.access import is_admin, user_team_ids
from crm.models import Team
from mailtemplates.models import EmailTemplate

Visibility = EmailTemplate.Visibility


def visibilities_for(user) -> list[str]:
    """What ``user`` may share a template with, in the order the form offers them."""
    if not (user and user.is_authenticated and user.is_active):
        return []
    if is_admin(user):
        return [Visibility.PRIVATE, Visibility.TEAMS, Visibility.EVERYONE]
    if user_team_ids(user):
        return [Visibility.PRIVATE, Visibility.TEAMS]
    return [Visibility.PRIVATE]


def teams_for(user):
    """The teams ``user`` may share a template with: their own; any for administrators."""
    if is_admin(user):
        return Team.objects.order_by("name")
    return Team.objects.filter(pk__in=user_team_ids(user)).order_by("name")


def can_manage_template(user, template: EmailTemplate, team_ids=None) -> bool:
    """Whether ``user`` may save ``template`` as it is (new or changed) or delete it.

    ``team_ids``: the teams it is about to be shared with (the form's choice), else its own.
    """
    if not (user and user.is_authenticated and user.is_active):
        return False
    if template.visibility not in visibilities_for(user):
        return False
    if is_admin(user):
        return template.visibility != Visibility.PRIVATE or template.owner_id == user.pk
    if template.owner_id != user.pk:
        return False
    if template.visibility == Visibility.TEAMS:
        if team_ids is None:
            team_ids = set(template.teams.values_list("pk", flat=True)) if template.pk else set()
        return set(team_ids) <= user_team_ids(user)
    return True


def check_can_manage_template(user, template: EmailTemplate, team_ids=None) -> None:
    if not can_manage_template(user, template, team_ids):
        if template.visibility == Visibility.EVERYONE:
            raise PermissionDenied(_("Only administrators manage templates shared with everyone."))
        raise PermissionDenied(_("You may only manage your own templates."))


def template_for_use(user, pk: int) -> EmailTemplate:
    """Template ``pk`` when ``user`` may insert it; ``Http404`` otherwise."""
    template = EmailTemplate.objects.usable_by(user).filter(pk=pk).first()
    if template is None:
        raise Http404
    return template


def template_to_preview(user, pk: int) -> EmailTemplate:
    """Template ``pk`` when ``user`` may use or manage it (an administrator previews a team's
    template before changing it); ``Http404`` otherwise."""
    template = EmailTemplate.objects.listed_for(user).filter(pk=pk).first()
    if template is None:
        raise Http404
    return template


def template_to_manage(user, pk: int) -> EmailTemplate:
    """Template ``pk`` when ``user`` may manage it: 404 when they cannot even see it, 403
    when they may only use it."""
    template = EmailTemplate.objects.listed_for(user).filter(pk=pk).first()
    if template is None:
        raise Http404
    check_can_manage_template(user, template)
    return template
