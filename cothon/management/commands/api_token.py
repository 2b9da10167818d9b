"""python manage.py api_token <username> [--tenant <slug>]: print a new API key.

A token acts for one membership (one user in one organization). The key is printed once on
stdout and only its digest is stored; use it as `Authorization: Token <key>`.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from cothon.models import Tenant
from cothon.tenancy.selectors import memberships_for_user
from cothon.tenancy.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user's membership in one organization and print its key."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--tenant", metavar="SLUG",
            help="Organization slug; needed when the user belongs to several organizations.",
        )

    def handle(self, *args, username: str, tenant: str | None = None, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive; an API token would be refused.")
        memberships = list(memberships_for_user(user=user))
        slugs = ", ".join(m.tenant.slug for m in memberships)
        if tenant is not None:
            chosen = [m for m in memberships if m.tenant.slug == tenant]
            if not chosen and not Tenant.objects.filter(slug=tenant).exists():
                raise CommandError(f"No organization with slug {tenant!r}.")
            if not chosen:
                raise CommandError(
                    f"User {username!r} is not a member of an organization with slug {tenant!r}. "
                    + (f"Their organizations: {slugs}." if memberships else "They belong to no organization.")
                )
            membership = chosen[0]
        elif not memberships:
            raise CommandError(f"User {username!r} belongs to no organization; add a membership first.")
        elif len(memberships) > 1:
            raise CommandError(
                f"User {username!r} belongs to several organizations ({slugs}); choose one with --tenant <slug>."
            )
        else:
            membership = memberships[0]
        _, key = api_token_create(membership=membership)
        self.stderr.write(f"API token for {username} in {membership.tenant.slug} ({membership.role}); shown only once:")
        self.stdout.write(key)
