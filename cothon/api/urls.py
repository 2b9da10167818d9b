"""/api/v1/: one DRF router for every resource. The schema and docs are routed in cothon/urls.py."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from django.urls import path
from rest_framework.routers import DefaultRouter

from opportunities.api import AnalysisViewSet, CommentViewSet, DepartmentViewSet, OpportunityViewSet
from opportunities.dashboard_views import DashboardViewSet
from proposals.api import ContactViewSet, ProposalViewSet, QuoteCustomFieldViewSet, QuoteViewSet
from sync_engine.appointments.routing_views import RoutedFileViewSet
from sync_engine.alerts.api import AlertIncidentViewSet, AlertSettingsViewSet
from sync_engine.api import ConnectionViewSet, OpportunitySalesforceViewSet, SyncRunViewSet
from sync_engine.conflicts.api import ConflictViewSet
from sync_engine.legacy.api import LegacyMatchJobViewSet, LegacyProposalViewSet
from sync_engine.logs.api import SyncLogViewSet
from sync_engine.quotes.api import QuoteSendViewSet
from sync_engine.validation.api import DriftReportViewSet

app_name = "api"

router = DefaultRouter()
# Detail actions only (/opportunities/{id}/salesforce/…): the Salesforce partner of an opportunity.
# Registered first: the API root lists one entry per prefix, and the last registration of
# "opportunities" must be the one with a list.
router.register("opportunities", OpportunitySalesforceViewSet, basename="opportunity-salesforce")
router.register("opportunities", OpportunityViewSet, basename="opportunity")
router.register("analyses", AnalysisViewSet, basename="analysis")
router.register("proposals", ProposalViewSet, basename="proposal")
# Detail actions only (/quotes/{id}/send/): Send to Salesforce. Registered before the quotes
# view set for the same reason as the opportunities' Salesforce actions.
router.register("quotes", QuoteSendViewSet, basename="quote-send")
router.register("quotes", QuoteViewSet, basename="quote")
router.register("quote-custom-fields", QuoteCustomFieldViewSet, basename="quote-custom-field")
router.register("contacts", ContactViewSet, basename="contact")
router.register("departments", DepartmentViewSet, basename="department")
router.register("comments", CommentViewSet, basename="comment")
router.register("connections", ConnectionViewSet, basename="connection")
router.register("sync-runs", SyncRunViewSet, basename="sync-run")
router.register("sync-logs", SyncLogViewSet, basename="sync-log")
router.register("sync-conflicts", ConflictViewSet, basename="sync-conflict")
router.register("legacy-match-jobs", LegacyMatchJobViewSet, basename="legacy-match-job")
router.register("legacy-proposals", LegacyProposalViewSet, basename="legacy-proposal")
router.register("drift-reports", DriftReportViewSet, basename="drift-report")
router.register("routed-files", RoutedFileViewSet, basename="routed-file")
# Alerts (sync_engine.alerts): one settings object per tenant, so GET and PUT on the collection
# URL (the route below, ahead of the router's GET-only one that the API root lists).
router.register("alert-settings", AlertSettingsViewSet, basename="alert-settings")
router.register("alert-incidents", AlertIncidentViewSet, basename="alert-incident")
# The Dashboard's figures (docs/dashboards.md): one GET with the page's filters.
router.register("dashboard", DashboardViewSet, basename="dashboard")

urlpatterns = [
    path("alert-settings/", AlertSettingsViewSet.as_view({"get": "list", "put": "replace"}), name="alert-settings-list"),
    *router.urls,
]


class MembershipTokenScheme(OpenApiAuthenticationExtension):
    """Documents `Authorization: Token <key>` in the schema (registered on import, with the routes)."""

    target_class = "cothon.tenancy.api_auth.MembershipTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; get a key with `python manage.py api_token <username> [--tenant <slug>]`.",
        }
