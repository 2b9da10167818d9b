from django.urls import path

from sync_engine.quotes import views

# Its own namespace: `sync_quotes` is the receiver's (sync_engine/quotes/receiver_urls.py).
app_name = "quote_settings"
urlpatterns = [
    path("salesforce/<int:pk>/quotes/", views.quote_settings, name="edit"),
    path("salesforce/<int:pk>/quotes/automation/", views.automation_retry, name="automation"),
]
