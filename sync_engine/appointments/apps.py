from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "sync_engine.appointments"
    label = "sync_appointments"
    verbose_name = "Appointments and routing (the 002 flow)"
    default_auto_field = "django.db.models.BigAutoField"
