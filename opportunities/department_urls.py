from django.urls import path

from opportunities import department_views

app_name = "departments"
urlpatterns = [
    path("", department_views.department_list, name="list"),
    path("new/", department_views.department_create, name="create"),
    path("<int:pk>/", department_views.department_detail, name="detail"),
    path("<int:pk>/edit/", department_views.department_edit, name="edit"),
    path("<int:pk>/delete/", department_views.department_delete, name="delete"),
]
