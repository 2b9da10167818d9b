"""Comments (and activities, when the admin prefers notes) → Notes on the opportunity.

A Note's Body holds 32,000 characters (the describe's length): a longer comment is split where
natural — at a paragraph, line or word break — into several Notes titled "(1/3)", "(2/3)", …,
never cut. Notes have no custom fields: each is found again by parent and title."""

from __future__ import annotations

from dataclasses import dataclass

from opportunities.models import Comment

TITLE_LENGTH = 80
BODY_LENGTH = 32_000


@dataclass(frozen=True)
class NotePart:
    title: str
    body: str


def comment_title(comment: Comment) -> str:
    author = comment.author.get_full_name() or comment.author.username if comment.author else "someone"
    return f"Cothon comment #{comment.pk} by {author}"


def split_body(body: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, broken at the last paragraph, line or space
    before the limit (a hard break only inside one very long word)."""
    pieces, rest = [], body
    while len(rest) > limit:
        window = rest[:limit]
        # The most natural break that still fills at least half a Note.
        cut = next((at for at in (window.rfind("\n\n"), window.rfind("\n"), window.rfind(" ")) if at >= limit // 2), limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    pieces.append(rest)
    return pieces


def to_salesforce(title: str, body: str, *, body_length: int | None = None) -> list[NotePart]:
    """One Note, or several numbered ones when the body is longer than the Body field."""
    limit = body_length or BODY_LENGTH
    pieces = split_body(body or "", limit)
    if len(pieces) == 1:
        return [NotePart(title=title[:TITLE_LENGTH], body=pieces[0])]
    total = len(pieces)
    parts = []
    for number, piece in enumerate(pieces, start=1):
        suffix = f" ({number}/{total})"
        parts.append(NotePart(title=title[:TITLE_LENGTH - len(suffix)] + suffix, body=piece))
    return parts
