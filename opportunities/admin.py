"""Django admin for support staff. Writes of synced records go through the services so the
sync outbox sees them, exactly as for changes made in the app."""

from django.contrib import admin

from opportunities import services
from opportunities.models import BidAnalysis, Comment, Contact, Department, Opportunity, Requirement
from opportunities.services import OPPORTUNITY_FIELDS


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ["reference", "title", "tenant", "status", "closing_date", "department"]
    list_filter = ["tenant", "status", "category"]
    search_fields = ["reference", "title"]
    raw_id_fields = ["department", "assignee", "created_by"]

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in OPPORTUNITY_FIELDS if name in form.cleaned_data}
        if change:
            original = Opportunity.objects.get(pk=obj.pk)
            services.opportunity_update(tenant=original.tenant, opportunity=original, data=data, changed_by=request.user)
        else:
            created = services.opportunity_create(tenant=form.cleaned_data["tenant"], created_by=request.user, **data)
            obj.pk = created.pk

    def delete_model(self, request, obj):
        services.opportunity_delete(tenant=obj.tenant, opportunity=obj)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "acronym", "tenant", "key"]
    list_filter = ["tenant"]
    search_fields = ["name"]
    readonly_fields = ["key"]

    def save_model(self, request, obj, form, change):
        if change:
            original = Department.objects.get(pk=obj.pk)
            services.department_update(tenant=original.tenant, department=original,
                                       data={k: form.cleaned_data[k] for k in ("name", "acronym", "website")},
                                       changed_by=request.user)
        else:
            created = services.department_create(tenant=form.cleaned_data["tenant"], name=form.cleaned_data["name"],
                                                  acronym=form.cleaned_data["acronym"], website=form.cleaned_data["website"],
                                                  created_by=request.user)
            obj.pk = created.pk


class ReadOnlyAdmin(admin.ModelAdmin):
    """Support can look; changes go through the app, where the services run."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


for model in (BidAnalysis, Requirement, Comment, Contact):
    admin.site.register(model, ReadOnlyAdmin)
