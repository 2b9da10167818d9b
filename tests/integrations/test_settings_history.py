"""Settings history: Compare (two versions, or one and the settings in force, field by field in
the editor's words) and Restore (a new version equal to an old one, validated today against
the org; refused with the reasons otherwise). Admins only; another tenant's connection is 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.models import ConnectionSettingsVersion
from integrations.sync_settings import settings_current, settings_restore, settings_save, SettingsInvalid


def _save(connection, actor, **changes):
    data = settings_current(connection=connection)
    for path, value in changes.items():
        node = data
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    return settings_save(connection=connection, data=data, actor=actor)


@pytest.fixture
def history(alice, connected):
    first = connected.settings_versions.first()
    second = _save(connected, alice.admin, direction="push", activity__mode="notes")
    third = _save(connected, alice.admin, conflict_rules__StageName="cothon_wins")
    return first, second, third


def test_compare_shows_each_changed_setting_in_the_editors_words(alice, web_as, connected, history):
    first, _second, third = history
    client = web_as(alice.admin)
    html = client.get(reverse("integrations:settings_compare", args=[connected.pk]), {"a": first.version}).content.decode()
    assert f"Version {first.version} → version {third.version} (in force)" in html
    assert 'data-testid="settings-diff"' in html
    assert "Sync direction" in html and "Both ways" in html and "Cothon → Salesforce" in html
    assert "Log activities as" in html and "Notes" in html
    assert "Cothon wins" in html and "activity.mode" not in html and '"notes"' not in html  # words, not raw JSON
    same = client.get(reverse("integrations:settings_compare", args=[connected.pk]), {"a": third.version}).content.decode()
    assert "Pick two different versions" in same
    assert client.get(reverse("integrations:settings_compare", args=[connected.pk]), {"a": "999"}).status_code == 404
    assert client.get(reverse("integrations:settings_compare", args=[connected.pk]), {"a": "x"}).status_code == 404


def test_restore_saves_a_new_version_equal_to_the_old_one(alice, web_as, connected, history):
    first, _second, third = history
    response = web_as(alice.admin).post(reverse("integrations:settings_restore", args=[connected.pk, first.version]), follow=True)
    assert f"Version {first.version} restored as version {third.version + 1}." in response.content.decode()
    restored = connected.settings_versions.first()
    assert restored.version == third.version + 1 and restored.changed_by == alice.admin
    assert restored.summary.startswith(f"Restored version {first.version}.")
    assert settings_current(connection=connected)["direction"] == first.data.get("direction", "bidirectional")
    again = web_as(alice.admin).post(reverse("integrations:settings_restore", args=[connected.pk, first.version]), follow=True)
    assert "nothing to restore" in again.content.decode() and connected.settings_versions.count() == 4


def test_an_old_version_todays_org_refuses_is_not_restored(alice, web_as, connected):
    good = settings_current(connection=connected)
    data = settings_current(connection=connected)
    index = next(i for i, m in enumerate(data["opportunity_mappings"]) if m["sf_field"] == "Cothon_Location__c")
    data["opportunity_mappings"][index]["sf_field"] = "Cothon_Gone__c"  # a field the org no longer has
    old = ConnectionSettingsVersion.objects.create(connection=connected, version=2, data=data, changed_by=alice.admin)
    ConnectionSettingsVersion.objects.create(connection=connected, version=3, data=good, changed_by=alice.admin)
    with pytest.raises(SettingsInvalid):
        settings_restore(connection=connected, version=old, actor=alice.admin)
    response = web_as(alice.admin).post(reverse("integrations:settings_restore", args=[connected.pk, 2]), follow=True)
    html = response.content.decode()
    assert "Version 2 was not restored" in html and "does not exist" in html
    assert connected.settings_versions.count() == 3


def test_only_admins_compare_and_restore_and_other_tenants_get_404(alice, bob, web_as, connected, history):
    first = history[0]
    compare = reverse("integrations:settings_compare", args=[connected.pk])
    restore = reverse("integrations:settings_restore", args=[connected.pk, first.version])
    member = web_as(alice.member)
    assert member.get(compare).status_code == 403 and member.post(restore).status_code == 403
    outsider = web_as(bob.admin)
    assert outsider.get(compare).status_code == 404 and outsider.post(restore).status_code == 404
    assert connected.settings_versions.count() == 3


def test_history_links_compare_and_restore_for_older_versions(alice, web_as, connected, history):
    first = history[0]
    html = web_as(alice.admin).get(reverse("integrations:settings_history", args=[connected.pk])).content.decode()
    assert reverse("integrations:settings_restore", args=[connected.pk, first.version]) in html
    assert f"{reverse('integrations:settings_compare', args=[connected.pk])}?a={first.version}" in html
