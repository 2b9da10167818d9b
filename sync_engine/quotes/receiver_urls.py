"""URLs of the quotes from Salesforce (included at the site root by cothon/urls.py): the
Outbound Message receiver (no login: a secret token per connection) and Synchronize now
(admins, under the connection's settings pages)."""

from django.urls import path

from sync_engine.quotes import receiver_views, sync_now_views

app_name = "sync_quotes"
urlpatterns = [
    path("integrations/salesforce/quotes/<str:token>/", receiver_views.quote_receive, name="receiver"),
    path("settings/integrations/salesforce/<int:pk>/quotes/synchronize/", sync_now_views.synchronize_now,
         name="synchronize_now"),
]
