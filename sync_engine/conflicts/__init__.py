"""Conflicts held for review: written by the pull (`services.conflicts_hold`), read by the queue
(`selectors`), settled by a person (`services.conflict_resolve`). See docs/conflicts.md."""
