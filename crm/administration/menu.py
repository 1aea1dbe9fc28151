"""The Administration menu: a registry other apps add their pages to.

crm registers Users, Teams, Roles and Scheduled Jobs; mailboxes, filters and cases register
theirs from their ``AppConfig.ready``::

    from crm.administration.menu import admin_link_register
    admin_link_register(group=_("Email"), label=_("Group Email Accounts"),
                        url_name="mailboxes:group-account-list", order=10)
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.links import reverse_or_empty


@dataclass(frozen=True)
class AdminLink:
    group: str
    label: str
    url_name: str
    description: str = ""
    order: int = 100

    @property
    def url(self) -> str:
        return reverse_or_empty(self.url_name)


_LINKS: dict[str, AdminLink] = {}


def admin_link_register(
    *, group: str, label: str, url_name: str, description: str = "", order: int = 100
) -> None:
    """Add a page to the Administration menu (registering a url_name again replaces it)."""
    _LINKS[url_name] = AdminLink(group, label, url_name, description, order)


def admin_links() -> list[AdminLink]:
    """Registered links whose page exists, in menu order."""
    return [link for link in sorted(_LINKS.values(), key=lambda link: link.order) if link.url]


def admin_link_groups() -> list[tuple[str, list[AdminLink]]]:
    """Links grouped by their group, groups in the order of their first link."""
    groups: dict[str, list[AdminLink]] = {}
    for link in admin_links():
        groups.setdefault(str(link.group), []).append(link)
    return list(groups.items())
