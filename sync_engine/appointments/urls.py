from django.urls import path

from sync_engine.appointments import views

app_name = "sync_appointments"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("refresh/", views.refresh, name="refresh"),
    path("pulls/<int:pk>/", views.pull_progress, name="pull_progress"),
]
