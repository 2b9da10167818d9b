from django.urls import path

from sync_engine.pull import views

app_name = "sync_pull"
urlpatterns = [
    path("salesforce/outbound/<str:token>/", views.outbound_receive, name="outbound"),
]
