"""Pages of an email list whose count is never the cost of the page.

Counting a million matching rows takes longer than showing fifty of them, and nobody pages
to the ten-thousandth email: past ``CAP`` the list says "10,000+" and stops counting (and
the deepest ``OFFSET`` stays bounded by the cap).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property

CAP = 1_000


class CappedPaginator(Paginator):
    cap = CAP

    @cached_property
    def _counted(self) -> int:
        return self.object_list[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        """Whether there are more than ``count`` (the list shows "10,000+")."""
        return self._counted > self.cap
