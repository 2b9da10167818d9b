from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from cothon import views
from cothon.api import errors as api_errors

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="opportunities:list", permanent=False), name="home"),
    path("accounts/login/", views.CothonLoginView.as_view(), name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("tenant/switch/", views.tenant_switch, name="tenant_switch"),
    path("no-organization/", views.no_tenant, name="no_tenant"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("opportunities/", include("opportunities.urls")),
    # The Government Sales Dashboard (opportunities.dashboard; docs/dashboards.md).
    path("dashboard/", include("opportunities.dashboard_urls")),
    path("proposals/", include("proposals.urls")),
    # Send to Salesforce from the quote page (sync_engine.quotes): the Salesforce actions menu.
    path("quotes/", include("sync_engine.quotes.send_urls")),
    path("quotes/", include("proposals.quote_urls")),
    path("departments/", include("opportunities.department_urls")),
    # Appointments pulled from Salesforce by the admin's query (seed 002; sync_engine.appointments).
    path("appointments/", include("sync_engine.appointments.urls")),
    path("people/", include("proposals.people_urls")),
    # Result appointment (Results Routing, docs/results.md): the card on an appointment's page.
    path("appointments/", include("sync_engine.appointments.results_urls")),
    path("settings/integrations/", include("integrations.urls")),
    # Match Legacy Records (sync_engine.legacy): under the connection's settings pages.
    path("settings/integrations/", include("sync_engine.legacy.urls")),
    # Quotes from Salesforce opportunities (sync_engine.quotes): the connection's quote settings.
    path("settings/integrations/", include("sync_engine.quotes.urls")),
    # Workflow › CRM and Appointments (sync_engine.appointments): the query, mappings and sign-on per connection.
    path("settings/integrations/", include("sync_engine.appointments.config_urls")),
    # Document / results / credit application routing (sync_engine.appointments, docs/routing.md).
    path("", include("sync_engine.appointments.routing_urls")),
    # Settings › Alerts (sync_engine.alerts, docs/alerts.md): e-mail and signed webhook per incident.
    path("settings/alerts/", include("sync_engine.alerts.urls")),
    path("sync/", include("sync_engine.urls")),
    # The daily validation's drift reports (sync_engine.validation): under the connection's sync pages.
    path("sync/", include("sync_engine.validation.urls")),
    # Salesforce Outbound Messages (no login: a secret token per connection, the org id checked).
    path("integrations/", include("sync_engine.pull.urls")),
    # Quotes from Salesforce (sync_engine.quotes): its Outbound Message receiver
    # (/integrations/salesforce/quotes/<token>/) and Synchronize now.
    path("", include("sync_engine.quotes.receiver_urls")),
    path("api/v1/", include("cothon.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file (?script): no inline script,
    # as the Content-Security-Policy requires.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # ReDoc's bundle shows Redocly's logo from their CDN (not configurable); the one exception to
    # the policy, on this page only. Offline the image just does not appear.
    path("api/redoc/", csp_update({"img-src": ["https://cdn.redoc.ly"]})(SpectacularRedocView.as_view(url_name="api-schema")),
         name="api-redoc"),
    path("admin/", admin.site.urls),
    # Keep last: any other URL under /api/ (ending in a slash, so APPEND_SLASH still redirects
    # /api/v1/opportunities) is the API's JSON 404, with DEBUG on too (where Django would show
    # its technical 404 page instead of handler404).
    re_path(r"^api/.*/$", api_errors.not_found_view),
]

# No public /media/ route: generated documents are tenant data, served by tenant-scoped views
# (proposals:document, /api/v1/proposals/{id}/document/).

# Under /api/ these answer in the API's JSON error shape (cothon/api/errors.py); elsewhere they
# fall back to the HTML error pages.
handler400 = "cothon.api.errors.bad_request"
handler403 = "cothon.api.errors.permission_denied"
handler404 = "cothon.api.errors.page_not_found"
handler500 = "cothon.api.errors.server_error"
