"""Result appointment: under an appointment's page (included at /appointments/)."""

from django.urls import path

from sync_engine.appointments import results_views as views

app_name = "sync_appointments_results"
urlpatterns = [
    path("<int:pk>/result/", views.result_submit, name="submit"),
    path("<int:pk>/result/card/", views.result_card, name="card"),
    path("<int:pk>/result/<int:send_pk>/retry/", views.result_retry, name="retry"),
]
