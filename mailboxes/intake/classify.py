"""Step 4 placeholder until the classifier lands (cases-core branch)."""

from dataclasses import dataclass, field


@dataclass
class Classification:
    kind: str = ""
    reasons: list[str] = field(default_factory=list)
    is_auto_submitted: bool = False


def classify_step(ctx):
    ctx.classification = Classification()
    return ctx
