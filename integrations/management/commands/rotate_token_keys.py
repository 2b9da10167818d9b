from django.core.management.base import BaseCommand
from django.db import transaction

from integrations.crypto import rotate_token
from integrations.models import SalesforceConnection


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored Salesforce token with the newest key in COTHON_ENCRYPTION_KEYS. "
        "Put the new key first, keep the old ones after it, run this, then remove the old keys."
    )

    def handle(self, *args, **options):
        count = 0
        with transaction.atomic():
            for connection in SalesforceConnection.objects.select_for_update().only(
                "id", "access_token_encrypted", "refresh_token_encrypted"
            ):
                connection.access_token_encrypted = rotate_token(connection.access_token_encrypted)
                connection.refresh_token_encrypted = rotate_token(connection.refresh_token_encrypted)
                connection.save(update_fields=["access_token_encrypted", "refresh_token_encrypted"])
                count += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the tokens of {count} connection(s) with the newest key."))
