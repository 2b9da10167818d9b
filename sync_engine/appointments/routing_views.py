"""Routing pages of a connection (admins): Workflow › Document Routing (contract, proposal,
custom document), Workflow › Results Routing, Finance › Credit App Sending, the routed files
with Retry, and the demo's outbox; the customer's credit application sign page (the
appointment's rep or an admin); /api/v1/routed-files/ (list, one, retry).

Every lookup is scoped to request.tenant: another tenant's connection, file or appointment is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from cothon.tenancy.pages import tenant_page
from integrations import selectors as integration_selectors
from integrations.models import SalesforceConnection
from opportunities.models import Appointment
from sync_engine.api import COMMON_ERRORS, Conflict, _TenantScoped
from sync_engine.appointments import backup_email, credit_app, placeholders, routing_selectors, routing_services, upload
from sync_engine.appointments.models import DeliveryStatus, RoutedFile, RoutingKind
from sync_engine.appointments.routing_forms import form_values, rule_input_from_post

SEND_LABELS = {
    RoutingKind.CONTRACT: "Send contracts to Salesforce", RoutingKind.PROPOSAL: "Send proposals to Salesforce",
    RoutingKind.CUSTOM_DOCUMENT: "Send custom documents to Salesforce", RoutingKind.RESULTS: "Send results to Salesforce",
    RoutingKind.CREDIT_APP: "Send credit applications to Salesforce",
}
# Where the seed files each kind: its menu path and one line on what it does.
KIND_PAGES = {
    RoutingKind.CONTRACT: ("Workflow › Document Routing", "Contracts sent from Cothon go to the appointment's Salesforce record."),
    RoutingKind.PROPOSAL: ("Workflow › Document Routing", "Proposals sent from Cothon go to the appointment's Salesforce record."),
    RoutingKind.CUSTOM_DOCUMENT: ("Workflow › Document Routing", "Any other document sent from an appointment (%documentTitle% is its name)."),
    RoutingKind.RESULTS: ("Workflow › Results Routing", "Resulting an appointment writes the pickers' values to the object class "
                                                       "record, adds a note and uploads the results report."),
    RoutingKind.CREDIT_APP: ("Finance › Credit App Sending", "The customer signs the credit application; the PDF, protected by "
                                                            "the password, goes to the appointment's Salesforce record."),
}


def _connection(request: HttpRequest, pk: int) -> SalesforceConnection:
    try:
        return integration_selectors.salesforce_connection_get(tenant=request.tenant, pk=pk)
    except SalesforceConnection.DoesNotExist:
        raise Http404("No such connection") from None


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    """Field → messages; messages of no field under "general" (templates cannot read __all__)."""
    errors = dict(exc.message_dict) if hasattr(exc, "error_dict") else {"general": exc.messages}
    if "__all__" in errors:
        errors["general"] = errors.pop("__all__")
    return errors


def _kind(kind: str) -> str:
    if kind not in RoutingKind.values:
        raise Http404("No such routing rule")
    return kind


@tenant_page("admin")
@require_GET
def routing_index(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    rules = routing_selectors.routing_rules_by_kind(connection=connection)
    groups = [
        ("Workflow › Document Routing", [rules[k] for k in routing_selectors.DOCUMENT_KINDS]),
        ("Workflow › Results Routing", [rules[RoutingKind.RESULTS]]),
        ("Finance › Credit App Sending", [rules[RoutingKind.CREDIT_APP]]),
    ]
    return render(request, "sync_appointments/routing_index.html", {
        "connection": connection, "groups": groups,
        "counts": routing_selectors.routed_file_counts(tenant=request.tenant, connection=connection),
        "outbox": backup_email.outbox_dir() is not None,
    })


@tenant_page("admin")
@require_http_methods(["GET", "POST"])
def routing_edit(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    connection = _connection(request, pk)
    kind = _kind(kind)
    rule = routing_selectors.routing_rule_for(connection=connection, kind=kind)
    submitted, errors = None, {}
    if request.method == "POST":
        submitted = rule_input_from_post(request.POST, kind)
        try:
            routing_services.routing_rule_save(tenant=request.tenant, connection=connection, kind=kind, data=submitted,
                                               actor=request.user)
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, f"{RoutingKind(kind).label} routing saved.")
            return redirect("sync_appointments_routing:edit", pk=connection.pk, kind=kind)
    menu, about = KIND_PAGES[RoutingKind(kind)]
    status = 400 if errors else 200
    return render(request, "sync_appointments/routing_edit.html", {
        "connection": connection, "kind": kind, "kind_label": RoutingKind(kind).label, "menu": menu,
        "send_label": SEND_LABELS[RoutingKind(kind)], "about": about,
        "rule": rule, "values": form_values(rule=rule, submitted=submitted), "errors": errors,
        "placeholders": placeholders.PLACEHOLDERS, "default_template": routing_services.DEFAULT_TEMPLATES[RoutingKind(kind)],
        "document_kinds": routing_selectors.DOCUMENT_KINDS, "max_mb": upload.MAX_UPLOAD_BYTES // 1024 // 1024,
    }, status=status)


@tenant_page("admin")
@require_GET
def picklist_load(request: HttpRequest, pk: int) -> HttpResponse:
    """HTMX: a picker row's options textarea filled with the field's picklist values."""
    connection = _connection(request, pk)
    target = request.GET.get("target", "")
    if not target.replace("-", "").replace("_", "").isalnum() or len(target) > 20:
        raise Http404("No such row")
    current = request.GET.get(f"{target}-options", "")
    error, options = "", current
    try:
        values = routing_services.picklist_values(connection=connection, sobject=request.GET.get("object_class", "")[:120],
                                                  sf_field=request.GET.get(f"{target}-sf_field", "")[:120])
    except ValidationError as exc:
        error = " ".join(exc.messages)
    else:
        options = "\n".join(values)
    return render(request, "sync_appointments/routing_picker_options.html",
                  {"target": target, "options": options, "error": error, "loaded": not error})


@tenant_page("admin")
@require_GET
def routed_files(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    status = request.GET.get("status", "")
    if status not in DeliveryStatus.values:
        status = ""
    files = list(routing_selectors.routed_file_list(tenant=request.tenant, connection=connection, status=status or None)[:200])
    for routed in files:
        routed.can_retry = routing_selectors.routed_file_can_retry(routed)
    return render(request, "sync_appointments/routing_files.html", {
        "connection": connection, "files": files, "status": status, "statuses": DeliveryStatus.choices,
        "counts": routing_selectors.routed_file_counts(tenant=request.tenant, connection=connection),
    })


@tenant_page("admin")
@require_POST
def routed_file_retry(request: HttpRequest, pk: int, file_pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    try:
        routed = routing_selectors.routed_file_get(tenant=request.tenant, pk=file_pk)
    except RoutedFile.DoesNotExist:
        raise Http404("No such file") from None
    if routed.connection_id != connection.pk:
        raise Http404("No such file")
    try:
        with transaction.atomic():
            upload.routed_file_retry(tenant=request.tenant, routed_file=routed, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"“{routed.file_name}” is queued for upload again.")
    return redirect("sync_appointments_routing:files", pk=connection.pk)


@tenant_page("admin")
@require_GET
def routed_file_download(request: HttpRequest, pk: int, file_pk: int) -> FileResponse:
    connection = _connection(request, pk)
    try:
        routed = routing_selectors.routed_file_get(tenant=request.tenant, pk=file_pk)
    except RoutedFile.DoesNotExist:
        raise Http404("No such file") from None
    if routed.connection_id != connection.pk or not routed.file:
        raise Http404("No such file")
    name = routed.file.name.rsplit("/", 1)[-1]
    return FileResponse(routed.file.open("rb"), as_attachment=True, filename=name)


@tenant_page("admin")
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    """The demo's caught e-mails (make run's SMTP catcher), this organization's only."""
    if backup_email.outbox_dir() is None:
        raise Http404("No demo outbox: e-mail goes to a real mail server here")
    return render(request, "sync_appointments/routing_outbox.html",
                  {"caught": backup_email.caught_messages(tenant=request.tenant), "folder": backup_email.outbox_dir()})


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def credit_app_sign(request: HttpRequest, appointment_pk: int) -> HttpResponse:
    try:
        appointment = routing_selectors.appointment_for_member(tenant=request.tenant, membership=request.membership,
                                                               pk=appointment_pk)
    except Appointment.DoesNotExist:
        raise Http404("No such appointment") from None
    errors: dict = {}
    unavailable = ""
    rule = None
    try:
        rule = credit_app.credit_app_rule(tenant=request.tenant, appointment=appointment)
    except upload.RoutingUnavailable as exc:
        unavailable = " ".join(exc.messages)
    signed = None
    if request.method == "POST" and rule is not None:
        try:
            with transaction.atomic():
                signed = credit_app.credit_application_sign(
                    tenant=request.tenant, appointment=appointment, signer_name=request.POST.get("signer_name", "")[:1000],
                    consent=request.POST.get("consent") == "on", actor=request.user, remote_addr=request.META.get("REMOTE_ADDR", ""))
        except upload.RoutingUnavailable as exc:
            unavailable = " ".join(exc.messages)
        except ValidationError as exc:
            errors = _errors(exc)
    return render(request, "sync_appointments/routing_credit_app_sign.html", {
        "appointment": appointment, "rule": rule, "unavailable": unavailable, "errors": errors, "signed": signed,
        "signer_name": request.POST.get("signer_name", "") if request.method == "POST" else "",
        "consent": request.POST.get("consent") == "on",
    }, status=400 if errors else 200)


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def document_send(request: HttpRequest, appointment_pk: int) -> HttpResponse:
    """The rep sends a contract, proposal or custom document of their appointment to Salesforce."""
    try:
        appointment = routing_selectors.appointment_for_member(tenant=request.tenant, membership=request.membership,
                                                               pk=appointment_pk)
    except Appointment.DoesNotExist:
        raise Http404("No such appointment") from None
    errors: dict = {}
    sent = None
    kind = request.POST.get("kind", RoutingKind.CONTRACT) if request.method == "POST" else RoutingKind.CONTRACT
    title = request.POST.get("title", "")[:1000] if request.method == "POST" else ""
    if request.method == "POST":
        uploaded = request.FILES.get("file")
        try:
            with transaction.atomic():
                sent = upload.document_send(tenant=request.tenant, appointment=appointment, kind=kind, title=title, actor=request.user,
                                            content=uploaded.read() if uploaded else b"",
                                            original_name=uploaded.name if uploaded else "")
        except ValidationError as exc:
            errors = _errors(exc)
    return render(request, "sync_appointments/routing_document_send.html", {
        "appointment": appointment, "errors": errors, "sent": sent, "kind": kind, "title": title,
        "kinds": [(k.value, k.label) for k in upload.DOCUMENT_KINDS], "max_mb": upload.MAX_UPLOAD_BYTES // 1024 // 1024,
    }, status=400 if errors else 200)


# --- API: /api/v1/routed-files/ --------------------------------------------------------------

class RoutedFileSerializer(serializers.ModelSerializer):
    appointment = serializers.IntegerField(source="appointment_id", read_only=True)
    connection = serializers.IntegerField(source="connection_id", read_only=True)

    class Meta:
        model = RoutedFile
        fields = ["id", "appointment", "connection", "kind", "file_name", "size_bytes", "status", "attempts",
                  "salesforce_document_id", "error_code", "error_message", "backup_sent_at", "created_at", "updated_at"]
        read_only_fields = fields


class DocumentSendSerializer(serializers.Serializer):
    appointment = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    kind = serializers.ChoiceField(choices=[k.value for k in upload.DOCUMENT_KINDS])
    file = serializers.FileField(allow_empty_file=False)
    title = serializers.CharField(required=False, allow_blank=True, max_length=upload.MAX_TITLE, default="")


@extend_schema_view(
    list=extend_schema(summary="Files routed to Salesforce (admin)", responses={200: RoutedFileSerializer(many=True), **COMMON_ERRORS}),
    retrieve=extend_schema(summary="One routed file (admin)", responses={200: RoutedFileSerializer, **COMMON_ERRORS}),
)
class RoutedFileViewSet(_TenantScoped, viewsets.ReadOnlyModelViewSet):
    """Documents, results reports and credit applications of appointments on their way to
    Salesforce, with their delivery state (pending, uploaded, failed)."""

    serializer_class = RoutedFileSerializer
    read_role = "admin"
    write_role = "member"  # sending a document of one's own appointment; retry checks admin itself
    filter_backends: list = []
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        if self.is_schema_generation():
            return RoutedFile.objects.none()
        status = self.request.query_params.get("status") or None
        return routing_selectors.routed_file_list(tenant=self.request.tenant,
                                                  status=status if status in DeliveryStatus.values else None)

    def get_object(self) -> RoutedFile:
        try:
            return routing_selectors.routed_file_get(tenant=self.request.tenant, pk=self.kwargs["pk"])
        except RoutedFile.DoesNotExist:
            raise NotFound("No such routed file.") from None

    @extend_schema(summary="Send a contract, proposal or custom document of an appointment to Salesforce",
                   description="multipart/form-data: `appointment`, `kind` (contract, proposal, custom_document), `file`, "
                               "optional `title` (%documentTitle%). Stored, named from the connection's rule and uploaded by a "
                               "worker; poll the answer's id. Members send documents of their own appointments.",
                   request={"multipart/form-data": DocumentSendSerializer},
                   responses={202: RoutedFileSerializer, **COMMON_ERRORS,
                              400: OpenApiResponse(description="A field is missing or wrong, or the rule of that kind is off.")})
    def create(self, request: Request) -> Response:
        data = DocumentSendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            appointment = routing_selectors.appointment_for_member(tenant=request.tenant, membership=request.membership,
                                                                   pk=data.validated_data["appointment"])
        except Appointment.DoesNotExist:
            raise NotFound("No such appointment.") from None
        uploaded = data.validated_data["file"]
        try:
            with transaction.atomic():
                routed = upload.document_send(tenant=request.tenant, appointment=appointment, kind=data.validated_data["kind"],
                                              content=uploaded.read(), original_name=uploaded.name, title=data.validated_data["title"],
                                              actor=request.user)
        except ValidationError as exc:
            raise serializers.ValidationError(_errors(exc)) from None
        return Response(RoutedFileSerializer(routed).data, status=202)

    @extend_schema(summary="Retry a failed upload (admin)", request=None,
                   description="Queues the upload again; a new failure e-mails the backup recipients again.",
                   responses={202: RoutedFileSerializer, **COMMON_ERRORS,
                              409: OpenApiResponse(description="`code` `not_retryable`: the file is uploaded or still waiting.")})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        if not request.membership.has_role("admin"):
            raise PermissionDenied("Retrying an upload needs the admin role.")
        routed = self.get_object()
        try:
            with transaction.atomic():
                routed = upload.routed_file_retry(tenant=request.tenant, routed_file=routed, actor=request.user)
        except ValidationError as exc:
            raise Conflict(detail=" ".join(exc.messages), code="not_retryable") from None
        return Response(RoutedFileSerializer(routed).data, status=202)
