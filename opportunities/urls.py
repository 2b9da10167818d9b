from django.urls import path

from opportunities import analysis_views, views
from sync_engine import record_views

app_name = "opportunities"
urlpatterns = [
    path("", views.opportunity_list, name="list"),
    path("new/", views.opportunity_create, name="create"),
    path("validate/", views.opportunity_validate, name="validate"),
    path("<int:pk>/", views.opportunity_detail, name="detail"),
    path("<int:pk>/live/", views.opportunity_live, name="live"),
    path("<int:pk>/edit/", views.opportunity_edit, name="edit"),
    path("<int:pk>/validate/", views.opportunity_validate_existing, name="validate_existing"),
    path("<int:pk>/delete/", views.opportunity_delete, name="delete"),
    path("<int:pk>/comments/", views.comment_create, name="comment_create"),
    # The record's Sync button belongs to the sync web layer; its URL stays with the record.
    path("<int:pk>/sync/", record_views.opportunity_sync, name="sync"),
    path("<int:pk>/salesforce/search/", record_views.opportunity_salesforce_search, name="salesforce_search"),
    path("<int:pk>/salesforce/relink/", record_views.opportunity_relink, name="salesforce_relink"),
    path("<int:pk>/salesforce/skip/", record_views.opportunity_skip, name="salesforce_skip"),
    path("<int:pk>/salesforce/unskip/", record_views.opportunity_unskip, name="salesforce_unskip"),
    path("<int:pk>/salesforce/recreate/", record_views.opportunity_recreate, name="salesforce_recreate"),
    path("<int:pk>/analyses/new/", analysis_views.analysis_create, name="analysis_create"),
    path("analyses/<int:analysis_pk>/edit/", analysis_views.analysis_edit, name="analysis_edit"),
    path("analyses/<int:analysis_pk>/requirements/", analysis_views.requirement_add, name="requirement_add"),
    path("analyses/<int:analysis_pk>/complete/", analysis_views.analysis_complete, name="analysis_complete"),
]
