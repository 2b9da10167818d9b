"""Quote pages (namespace "quotes", under /quotes/). The PDF download is proposals:quote_pdf."""

from django.urls import path, re_path

from proposals import quote_field_views, quote_line_views, quote_person_views, quote_views

app_name = "quotes"
urlpatterns = [
    path("", quote_views.quote_list, name="list"),
    path("new/", quote_views.quote_create, name="create"),
    path("custom-fields/", quote_field_views.custom_field_list, name="custom_fields"),
    path("custom-fields/<int:pk>/edit/", quote_field_views.custom_field_edit, name="custom_field_edit"),
    path("custom-fields/<int:pk>/delete/", quote_field_views.custom_field_delete, name="custom_field_delete"),
    path("<int:pk>/", quote_views.quote_detail, name="detail"),
    path("<int:pk>/save/", quote_views.quote_save, name="save"),
    path("<int:pk>/delete/", quote_views.quote_delete, name="delete"),
    path("<int:pk>/person/new/", quote_person_views.person_new, name="person_new"),
    path("<int:pk>/person/", quote_person_views.person_field, name="person_field"),
    path("<int:pk>/person/add/", quote_person_views.person_add, name="person_add"),
    path("<int:pk>/lines/", quote_line_views.lines_view, name="lines"),
    path("<int:pk>/lines/add/", quote_line_views.line_add, name="line_add"),
    path("<int:pk>/lines/preview/", quote_line_views.line_preview, name="line_preview"),
    path("<int:pk>/lines/<int:line_pk>/edit/", quote_line_views.line_edit_form, name="line_edit"),
    path("<int:pk>/lines/<int:line_pk>/save/", quote_line_views.line_save, name="line_save"),
    path("<int:pk>/lines/<int:line_pk>/remove/", quote_line_views.line_remove, name="line_remove"),
    re_path(r"^(?P<pk>[0-9]{1,18})/lines/(?P<line_pk>[0-9]{1,18})/move/(?P<direction>up|down)/$", quote_line_views.line_move,
            name="line_move"),
]
