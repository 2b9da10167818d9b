from django.urls import path

from sync_engine.legacy import views

app_name = "sync_legacy"
urlpatterns = [
    path("salesforce/<int:pk>/legacy/", views.review, name="review"),
    path("salesforce/<int:pk>/legacy/run/", views.run, name="run"),
    path("salesforce/<int:pk>/legacy/jobs/<int:job_pk>/", views.job_progress, name="job_progress"),
    path("salesforce/<int:pk>/legacy/decide/", views.decide, name="decide"),
]
