import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db_connection

from integrations import crypto
from integrations.models import SalesforceConnection


@pytest.fixture
def keys(settings):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.COTHON_ENCRYPTION_KEYS = [first]
    crypto.reset_key_cache()
    yield first, second
    crypto.reset_key_cache()


def test_a_token_round_trips_and_is_not_readable_in_the_database(alice, keys):
    secret = "00Dxx0000001gPL!AQ4AQFakeAccessToken.value"
    conn = SalesforceConnection.objects.create(tenant=alice.tenant, name="Prod", login_url="https://login.salesforce.com",
                                               access_token_encrypted=crypto.encrypt_token(secret))
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT access_token_encrypted FROM integrations_salesforceconnection WHERE id = %s", [conn.pk])
        raw = bytes(cursor.fetchone()[0])
    assert secret.encode() not in raw and b"AQ4AQ" not in raw
    conn.refresh_from_db()
    assert crypto.decrypt_token(conn.access_token_encrypted) == secret


def test_key_rotation_reencrypts_with_the_new_key_so_the_old_one_can_go(alice, keys, settings):
    old, new = keys
    conn = SalesforceConnection.objects.create(tenant=alice.tenant, name="Prod", login_url="https://login.salesforce.com",
                                               refresh_token_encrypted=crypto.encrypt_token("refresh-123"))
    settings.COTHON_ENCRYPTION_KEYS = [new, old]
    crypto.reset_key_cache()
    call_command("rotate_token_keys")
    settings.COTHON_ENCRYPTION_KEYS = [new]
    crypto.reset_key_cache()
    conn.refresh_from_db()
    assert crypto.decrypt_token(conn.refresh_token_encrypted) == "refresh-123"


def test_a_token_encrypted_with_a_removed_key_gives_a_clear_error(keys, settings):
    old, new = keys
    blob = crypto.encrypt_token("secret")
    settings.COTHON_ENCRYPTION_KEYS = [new]
    crypto.reset_key_cache()
    with pytest.raises(crypto.TokenDecryptionError, match="rotation"):
        crypto.decrypt_token(blob)


def test_an_invalid_configured_key_is_reported_plainly(settings):
    settings.COTHON_ENCRYPTION_KEYS = ["not-a-key"]
    crypto.reset_key_cache()
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="invalid key"):
        crypto.encrypt_token("x")
    crypto.reset_key_cache()
