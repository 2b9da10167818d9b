from django.urls import path

from sync_engine.validation import views

app_name = "sync_validation"
urlpatterns = [
    path("connections/<int:pk>/drift-reports/", views.report_list, name="reports"),
    path("connections/<int:pk>/drift-reports/validate/", views.validate_now, name="validate"),
    path("connections/<int:pk>/drift-reports/<int:report_pk>/", views.report_detail, name="report"),
]
