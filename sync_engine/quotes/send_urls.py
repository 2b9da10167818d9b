"""Send to Salesforce from the quote page (sync_engine/quotes/send_views.py), under /quotes/."""

from django.urls import path

from sync_engine.quotes import send_views

app_name = "quote_send"
urlpatterns = [
    path("<int:pk>/salesforce/send/", send_views.quote_send, name="send"),
    path("<int:pk>/salesforce/send/status/", send_views.quote_send_status, name="status"),
]
