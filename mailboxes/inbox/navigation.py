"""Links under Emails: the "Emails" menu and the lower part of the folder pane.

mailboxes registers its own pages (personal accounts, folders, quarantine); other apps add
theirs from their ``AppConfig.ready``::

    from mailboxes.inbox.navigation import emails_link_register
    emails_link_register(label=_("My filters"), url_name="filters:my-filters", order=30)

A link whose URL does not resolve (its app not installed yet) is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.links import reverse_or_empty


@dataclass(frozen=True)
class EmailsLink:
    label: str
    url_name: str
    order: int = 100
    admin_only: bool = False

    @property
    def url(self) -> str:
        return reverse_or_empty(self.url_name)


_LINKS: dict[str, EmailsLink] = {}


def emails_link_register(
    *, label: str, url_name: str, order: int = 100, admin_only: bool = False
) -> None:
    """Add a page to the Emails menu (registering a url_name again replaces it)."""
    _LINKS[url_name] = EmailsLink(label, url_name, order, admin_only)


def emails_links(*, admin: bool) -> list[EmailsLink]:
    """Registered links whose page exists and the user may open, in menu order."""
    return [
        link
        for link in sorted(_LINKS.values(), key=lambda link: link.order)
        if link.url and (admin or not link.admin_only)
    ]
