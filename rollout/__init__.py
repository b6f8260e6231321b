"""Shadow runs, reports, approval, push and undo against a CRM; the `scorebench` CLI lives in rollout.cli."""

from rollout.push import (
    Progress,
    PushResult,
    new_push_id,
    plan_changes,
    push_scores,
    resume_push,
    score_field_values,
    undo_push,
)

__all__ = [
    "Progress",
    "PushResult",
    "new_push_id",
    "plan_changes",
    "push_scores",
    "resume_push",
    "score_field_values",
    "undo_push",
]
