"""OpenAPI generation: every operation documents the problem details it may answer."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema

from api.problems import PROBLEM_CONTENT_TYPE, ProblemSerializer

# what DRF itself may answer to any call: bad input, no or bad key, not allowed (a
# read-only key writing), not found (also what the caller may not see), wrong method or
# media type, rate limited
PROBLEM_CODES = ("400", "401", "403", "404", "405", "406", "415", "429")


class ProblemAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        """A view's ``api_tag`` (a record viewset's resource) for all its operations, the
        actions it inherits too (a note, a case's close); else the path's first part."""
        tag = getattr(self.view, "api_tag", None)
        return [tag] if tag else super().get_tags()

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in PROBLEM_CODES:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    ProblemSerializer, code, [PROBLEM_CONTENT_TYPE], direction
                )
        return responses
