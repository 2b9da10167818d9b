from django.contrib import admin

from opportunities.admin import ReadOnlyAdmin
from proposals.models import Proposal, Quote

admin.site.register(Proposal, ReadOnlyAdmin)
admin.site.register(Quote, ReadOnlyAdmin)
