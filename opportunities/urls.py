from django.urls import path

from opportunities import sync_views, views

app_name = "opportunities"
urlpatterns = [
    path("", views.opportunity_list, name="list"),
    path("new/", views.opportunity_create, name="create"),
    path("validate/", views.opportunity_validate, name="validate"),
    path("<int:pk>/", views.opportunity_detail, name="detail"),
    path("<int:pk>/edit/", views.opportunity_edit, name="edit"),
    path("<int:pk>/validate/", views.opportunity_validate_existing, name="validate_existing"),
    path("<int:pk>/delete/", views.opportunity_delete, name="delete"),
    path("<int:pk>/comments/", views.comment_create, name="comment_create"),
    path("<int:pk>/sync/", sync_views.opportunity_sync, name="sync"),
]
