"""Template helpers of the compose picker."""

from __future__ import annotations

from django import template

from mailtemplates.attachments import COMPOSE_FIELD
from mailtemplates.models import EmailTemplate, EmailTemplateAttachment

register = template.Library()


@register.simple_tag
def template_files_posted(form) -> list[EmailTemplateAttachment]:
    """The template files a compose form posted (shown again, ticked, when the form comes
    back with an error, so they are not lost); only those of templates the user may use."""
    data = getattr(form, "data", None)
    if not getattr(form, "is_bound", False) or not hasattr(data, "getlist"):
        return []
    ids = [int(v) for v in data.getlist(COMPOSE_FIELD) if str(v).isdigit()]
    if not ids:
        return []
    return list(
        EmailTemplateAttachment.objects.filter(
            pk__in=ids, template__in=EmailTemplate.objects.usable_by(form.user)
        ).order_by("pk")
    )
