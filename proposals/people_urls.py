"""People pages (namespace "people", under /people/): contacts, the quotes' persons."""

from django.urls import path

from proposals import people_views

app_name = "people"
urlpatterns = [
    path("", people_views.person_list, name="list"),
    path("new/", people_views.person_create, name="create"),
    path("<int:pk>/", people_views.person_detail, name="detail"),
    path("<int:pk>/edit/", people_views.person_edit, name="edit"),
    path("<int:pk>/delete/", people_views.person_delete, name="delete"),
]
