from django.urls import path

from proposals import quote_pdf_views, views

app_name = "proposals"
urlpatterns = [
    path("new/for/<int:pk>/", views.proposal_create, name="create"),
    path("<int:proposal_pk>/edit/", views.proposal_edit, name="edit"),
    path("<int:proposal_pk>/generate/", views.proposal_generate, name="generate"),
    path("<int:proposal_pk>/document/", views.proposal_document, name="document"),
    path("quotes/<int:quote_pk>/pdf/", quote_pdf_views.quote_pdf, name="quote_pdf"),
]
