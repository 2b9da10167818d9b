"""The typed sync settings schema: defaults, round trip, old versions, the shape rules of the new
keys (import, reverse picklist values, deletes, owner mode) and typed access."""

from __future__ import annotations

import copy
import datetime
from decimal import Decimal

import pytest

from integrations import connections as svc
from integrations.mapping.suggest import suggest_picklist_reverse
from integrations.mapping.validation import validate_settings
from integrations.models import ConnectionSettingsVersion
from integrations.settings_schema import (
    FieldMapping,
    SalesforceObjects,
    SettingsShapeError,
    SyncSettings,
    default_settings_dict,
    normalise,
)
from integrations.sync_settings import SettingsInvalid, settings_current, settings_save, sync_settings_for


def errors(data):
    return {issue.path: issue.message for issue in validate_settings(data, None).errors}


# --- defaults and round trip ------------------------------------------------------------------------

def test_the_defaults_are_valid_and_hold_every_new_key():
    data = default_settings_dict()
    assert errors(data) == {}
    assert data["import_new"] is False and data["propagate_deletes"] is False and data["owner_mode"] == "owner"
    assert data["import_filter"] == {"stages": [], "require_cothon_ref": False}
    # Category → Type sends Goods and Construction to "New Business": the default says which comes back.
    assert data["picklist_reverse"]["category_to_type"] == {"New Business": "goods", "Services": "services"}


def test_round_trip_keeps_every_value():
    data = default_settings_dict()
    data.update(direction="hybrid", field_directions={"OwnerId": "pull"}, import_new=True, propagate_deletes=True,
                owner_mode="both", import_filter={"stages": ["Prospecting", "Qualification"], "require_cothon_ref": True},
                parallel_sync=True, bulk_threshold=100, record_type_id="012000000000001AAA")
    data["filters"] = {"min_value": "50000", "statuses": ["identified"], "categories": ["it"]}
    data["activity"]["min_value"] = "10000.50"
    data["opportunity_mappings"][7]["enabled"] = False
    data["objects"]["opportunity"] = "Bid__c"
    settings = SyncSettings.from_dict(data)
    assert settings.to_dict() == data
    assert SyncSettings.from_dict(settings.to_dict()) == settings


def test_an_old_version_missing_the_new_keys_reads_as_their_defaults():
    old = default_settings_dict()
    for key in ("import_new", "import_filter", "picklist_reverse", "propagate_deletes", "owner_mode"):
        del old[key]
    del old["frequencies"]["daily_full_at"]
    settings = SyncSettings.from_dict(old)
    assert settings.import_new is False and settings.owner_mode == "owner" and settings.propagate_deletes is False
    assert settings.import_filter.stages == () and settings.import_filter.require_cothon_ref is False
    assert settings.frequencies.daily_full_at == "02:00" and settings.frequencies.incremental_minutes == 15
    assert settings.reverse_picklist("category_to_type") == {"New Business": "goods", "Services": "services"}
    assert errors(old) == {}


def test_import_new_defaults_to_on_for_a_pull_only_version_and_is_then_stored():
    old = default_settings_dict()
    del old["import_new"]
    old["direction"] = "pull"
    assert normalise(old)["import_new"] is True
    old["direction"] = "hybrid"
    assert normalise(old)["import_new"] is False


def test_default_reverse_values_that_no_longer_fit_an_old_map_are_left_out():
    old = default_settings_dict()
    del old["picklist_reverse"]
    old["picklist_maps"]["category_to_type"]["goods"] = "Services"  # goods no longer sent as New Business
    reverse = normalise(old)["picklist_reverse"]["category_to_type"]
    assert "New Business" not in reverse and reverse["Services"] == "services"


def test_a_value_that_cannot_be_read_is_refused_with_its_path():
    data = default_settings_dict()
    data["frequencies"]["incremental_minutes"] = "often"
    with pytest.raises(SettingsShapeError) as caught:
        SyncSettings.from_dict(data)
    assert caught.value.path == "frequencies.incremental_minutes"


def test_unknown_keys_are_kept_and_warned_about():
    data = default_settings_dict()
    data["colour"] = "blue"
    assert SyncSettings.from_dict(data).to_dict()["colour"] == "blue"
    [warning] = validate_settings(data, None).warnings
    assert warning.path == "colour" and "not a sync setting" in warning.message


# --- shape rules of the new keys ------------------------------------------------------------------

@pytest.mark.parametrize(("mutate", "path", "message"), [
    (lambda d: d.update(import_new="yes"), "import_new", "true or false"),
    (lambda d: d.update(propagate_deletes=1), "propagate_deletes", "true or false"),
    (lambda d: d.update(owner_mode="manager"), "owner_mode", "owner, team_member, both"),
    (lambda d: d.update(import_filter=["Prospecting"]), "import_filter", "Must be an object"),
    (lambda d: d["import_filter"].update(stages="Prospecting"), "import_filter.stages", "list of Salesforce stage names"),
    (lambda d: d["import_filter"].update(stages=["", "Prospecting"]), "import_filter.stages", "list of Salesforce stage names"),
    (lambda d: d["import_filter"].update(require_cothon_ref="no"), "import_filter.require_cothon_ref", "true or false"),
    (lambda d: d.update(picklist_reverse=[]), "picklist_reverse", "Must be an object"),
    (lambda d: d["picklist_reverse"].update(colour_map={"Red": "red"}), "picklist_reverse.colour_map", "no picklist map “colour_map”"),
    (lambda d: d["picklist_reverse"]["category_to_type"].update({"Services": "pass"}), "picklist_reverse.category_to_type.Services",
     "“pass” is not a Cothon value"),
    (lambda d: d["objects"].update(opportunity="Bid Opportunity"), "objects.opportunity", "API name"),
    (lambda d: d.update(record_type_id="0050000000000001"), "record_type_id", "starts with 012"),
    (lambda d: d["activity"].update(min_value="lots"), "activity.min_value", "positive amount"),
    (lambda d: d["activity"].update(types=["spaceships"]), "activity.types", "not a Cothon category"),
    (lambda d: d.update(parallel_sync="on"), "parallel_sync", "true or false"),
    (lambda d: d.update(filters="all"), "filters", "Must be an object"),
])
def test_each_bad_value_is_refused_at_its_path_with_a_reason(mutate, path, message):
    data = default_settings_dict()
    mutate(data)
    found = errors(data)
    assert path in found, found
    assert message in found[path]


def test_a_map_sending_several_cothon_values_to_one_salesforce_value_needs_a_reverse_value():
    data = default_settings_dict()
    data["picklist_maps"]["pursuit_decision"]["review"] = "Pursue"  # Pursue and Review → "Pursue"
    message = errors(data)["picklist_reverse.pursuit_decision.Pursue"]
    assert "Pursuit decision → Cothon_Pursuit__c" in message  # the map, by its title
    assert "Pursue and Review to “Pursue”" in message and "choose which one “Pursue” becomes in Cothon" in message

    data["picklist_reverse"]["pursuit_decision"] = {"Pursue": "review"}
    assert errors(data) == {}
    assert SyncSettings.from_dict(data).reverse_picklist("pursuit_decision") == {"Pursue": "review", "Pass": "pass"}


def test_a_reverse_value_must_be_one_that_is_sent_as_that_salesforce_value():
    data = default_settings_dict()
    data["picklist_reverse"]["category_to_type"]["Services"] = "goods"  # goods is sent as New Business
    message = errors(data)["picklist_reverse.category_to_type.Services"]
    assert "“Services” would come back as Goods, but Goods is sent as “New Business”" in message


def test_the_import_stages_must_exist_in_the_org():
    from tests.integrations.test_settings_validation import DEMO_STAGES, describe_of, org_describe

    data = default_settings_dict()
    data["import_filter"]["stages"] = ["Prospecting", "Perception Analysis"]
    report = validate_settings(data, describe_of(org_describe(stages=DEMO_STAGES)))
    [issue] = [i for i in report.errors if i.path == "import_filter.stages"]
    assert "“Perception Analysis” is not a stage of this org" in issue.message


def test_suggested_reverse_values_keep_a_fitting_choice_and_pick_the_first_otherwise():
    values = {"goods": "New Customer", "services": "New Customer", "it": "Existing Customer"}
    assert suggest_picklist_reverse(values) == {"New Customer": "goods"}
    assert suggest_picklist_reverse(values, {"New Customer": "services"}) == {"New Customer": "services"}


# --- typed access --------------------------------------------------------------------------------

def test_typed_access_answers_the_questions_the_sync_asks():
    data = default_settings_dict()
    data.update(direction="hybrid", field_directions={"OwnerId": "pull", "Amount": "push"})
    data["opportunity_mappings"][7]["enabled"] = False  # category → Type off
    data["objects"].update(opportunity="Bid__c", account="Buyer__c")
    data["import_filter"] = {"stages": ["Prospecting"], "require_cothon_ref": True}
    settings = SyncSettings.from_dict(data)
    assert settings.pushes and settings.pulls
    assert settings.pulls_field("OwnerId") and not settings.pushes_field("OwnerId")
    assert settings.pushes_field("Amount") and not settings.pulls_field("Amount")
    assert settings.field_direction("Description") == "both"
    assert settings.mapping_for("category") is None
    assert settings.mapping_for("reference") == FieldMapping("reference", "Cothon_Ref__c", locked=True)
    assert settings.status_for_stage("Closed Won") == "won" and settings.stage_for("lost") == "Closed Lost"
    assert settings.conflict_rule("OwnerId") == "salesforce_wins"
    assert settings.conflict_rule("Cothon_Location__c") == "cothon_wins"  # the custom-fields rule
    assert settings.conflict_rule("Description") == "last_write_wins"
    assert settings.objects.for_record_type("opportunity") == "Bid__c"
    assert settings.objects.for_record_type("department") == "Buyer__c"
    assert settings.objects.for_record_type("comment") == ""
    assert settings.frequencies.daily_full_time == datetime.time(2, 0)
    assert settings.import_filter.accepts(stage="Prospecting", cothon_ref="PW-1")
    assert not settings.import_filter.accepts(stage="Prospecting", cothon_ref="")
    assert not settings.import_filter.accepts(stage="Closed Won", cothon_ref="PW-1")
    assert not settings.import_applies  # import is off
    assert SyncSettings(direction="push", import_new=True).import_applies is False
    assert SyncSettings(direction="pull", import_new=True).import_applies is True
    assert SyncSettings.from_dict({"filters": {"min_value": 1500}}).filters.min_value == Decimal("1500")
    assert SalesforceObjects().opportunity == "Opportunity"


# --- stored versions ----------------------------------------------------------------------------------

@pytest.fixture
def conn(alice):
    return svc.connection_create(tenant=alice.tenant, name="Production", client_id="APPKEY123", client_secret="s3cret-app",
                                 actor=alice.admin)


def test_sync_settings_for_reads_an_old_version_with_defaults_for_missing_keys(conn):
    old = default_settings_dict()
    for key in ("import_new", "import_filter", "picklist_reverse", "propagate_deletes", "owner_mode"):
        del old[key]
    old["direction"] = "pull"
    ConnectionSettingsVersion.objects.create(connection=conn, version=2, data=old, summary="saved before the new keys")
    settings = sync_settings_for(connection=conn)
    assert isinstance(settings, SyncSettings)
    assert settings.direction == "pull" and settings.import_new is True and settings.owner_mode == "owner"
    data = settings_current(connection=conn)
    assert data["import_new"] is True and data["import_filter"] == {"stages": [], "require_cothon_ref": False}
    data["import_new"] = True  # unchanged: saving adds no version
    settings_save(connection=conn, data=data, actor=None)
    assert conn.settings_versions.count() == 2
    data["owner_mode"] = "both"
    version = settings_save(connection=conn, data=data, actor=None)
    assert version.version == 3 and version.data["import_new"] is True and version.data["owner_mode"] == "both"
    assert "owner_mode: owner → both" in version.summary


def test_settings_current_is_a_copy_callers_may_change(conn):
    settings_current(connection=conn)["direction"] = "push"
    assert settings_current(connection=conn)["direction"] == "bidirectional"


@pytest.mark.parametrize(("change", "path"), [
    ({"owner_mode": "everyone"}, "owner_mode"),
    ({"import_new": "sometimes"}, "import_new"),
    ({"import_filter": {"stages": [3], "require_cothon_ref": False}}, "import_filter.stages"),
    ({"picklist_reverse": {"category_to_type": {"New Business": ""}}}, "picklist_reverse.category_to_type.New Business"),
])
def test_a_bad_value_saves_nothing(conn, change, path):
    data = copy.deepcopy(settings_current(connection=conn))
    data.update(change)
    with pytest.raises(SettingsInvalid) as caught:
        settings_save(connection=conn, data=data, actor=None)
    assert path in {issue.path for issue in caught.value.report.errors}
    assert conn.settings_versions.count() == 1


def test_a_partial_settings_object_is_saved_with_every_key(conn):
    version = settings_save(connection=conn, data={"direction": "push", "bulk_threshold": 500}, actor=None)
    assert version.data["direction"] == "push" and version.data["bulk_threshold"] == 500
    assert set(version.data) == set(default_settings_dict())
