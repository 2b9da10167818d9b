"""A minimal quote page for the tests of templates/sync_quotes/_quote_actions.html: the product's
URLs plus /test-quote/<id>/, a page of the app's layout whose header includes the partial the
way the quote detail page does (`{% include "sync_quotes/_quote_actions.html" with quote=quote %}`).
Used while the quote detail page is built on another branch; the partial needs nothing else."""

from django.http import HttpResponse
from django.template import engines
from django.urls import include, path

from cothon.tenancy.pages import tenant_page
from proposals import selectors

PAGE = engines["django"].from_string("""{% extends "base.html" %}{% load quote_send %}
{% block title %}{{ quote.number }}{% endblock %}
{% block content %}
<div class="page-header">
  <div>
    <div class="title-row"><h1>{{ quote.title }}</h1></div>
    <div class="subtitle"><span class="mono">{{ quote.number }}</span><span class="sep">•</span><span>{{ quote.company.name }}</span>
      <span class="sep">•</span><span>{{ quote.currency }} {{ quote.total|quote_money }}</span></div>
  </div>
  {% include "sync_quotes/_quote_actions.html" with quote=quote %}
</div>
<section class="card"><div class="card-body"><p>{{ quote.line_items.count }} line items.</p></div></section>
{% endblock %}""")


@tenant_page("viewer")
def quote_page(request, pk: int) -> HttpResponse:
    quote = selectors.quote_get(tenant=request.tenant, pk=pk)
    return HttpResponse(PAGE.render({"quote": quote}, request))


urlpatterns = [
    path("test-quote/<int:pk>/", quote_page, name="test_quote_page"),
    path("", include("cothon.urls")),
]
