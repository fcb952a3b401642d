"""Pages of the core: organisation picker, home, audit log, organisation settings."""

from __future__ import annotations

from datetime import datetime, time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core import services
from comptoir.core.access import org_page
from comptoir.core.audit_export import audit_workbook
from comptoir.core.dashboard import panels_for
from comptoir.core.errors import DomainError
from comptoir.core.forms import StyledForm
from comptoir.core.models import AuditEntry, Membership
from comptoir.core.roles import Action, Resource


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("core:org-picker")
    return redirect("accounts:login")


@login_required
def org_picker(request: HttpRequest) -> HttpResponse:
    """After login: pick the organisation to work in (one user, several organisations)."""
    rows = list(
        Membership.objects.filter(user_id=request.user.pk or 0)
        .with_web_access()
        .select_related("organization")
        .order_by("organization__name")
    )
    if len(rows) == 1 and not request.GET.get("choose"):
        return redirect("core:dashboard", org=rows[0].organization.slug)
    return render(
        request,
        "core/org_picker.html",
        {"rows": rows, "current": request.session.get("current_org")},
    )


@org_page(None, name="dashboard")
def dashboard(request: HttpRequest, member: Membership) -> HttpResponse:
    """Home: the organisation card, then the panels the apps contribute (core.dashboard)."""
    org = member.organization
    people = Membership.objects.filter(organization=org)
    return render(
        request,
        "core/dashboard.html",
        {
            "panels": panels_for(member),
            "active_count": people.filter(is_blocked=False).count(),
            "web_count": services.web_user_count(org),
            "quota": org.plan.storage_quota_bytes,
        },
    )


class AuditFilterForm(StyledForm):
    q = forms.CharField(label=gettext_lazy("Search"), required=False)
    action = forms.CharField(label=gettext_lazy("Action"), required=False)
    actor = forms.UUIDField(label=gettext_lazy("Who"), required=False)
    start = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def filter(self, entries: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        if not self.is_valid():
            return entries.none()
        data = self.cleaned_data
        if data["q"]:
            entries = entries.filter(object_repr__icontains=data["q"]) | entries.filter(
                actor_label__icontains=data["q"]
            )
        if data["action"]:
            entries = entries.filter(action__startswith=data["action"])
        if data["actor"]:
            entries = entries.filter(actor__public_id=data["actor"])
        zone = timezone.get_current_timezone()
        if data["start"]:
            entries = entries.filter(
                created_at__gte=datetime.combine(data["start"], time.min, tzinfo=zone)
            )
        if data["end"]:
            entries = entries.filter(
                created_at__lte=datetime.combine(data["end"], time.max, tzinfo=zone)
            )
        return entries


def _audit_entries(request: HttpRequest, member: Membership) -> tuple[AuditFilterForm, Any]:
    form = AuditFilterForm(request.GET or None)
    entries = AuditEntry.objects.filter(organization=member.organization).order_by(
        "-created_at", "-seq"
    )
    if request.GET:
        entries = form.filter(entries)
    return form, entries


@org_page(Resource.SETTINGS, Action.VIEW, name="audit")
def audit_log(request: HttpRequest, member: Membership) -> HttpResponse:
    form, entries = _audit_entries(request, member)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    actions = (
        AuditEntry.objects.filter(organization=member.organization)
        .values_list("action", flat=True)
        .distinct()
        .order_by("action")
    )
    people = Membership.objects.filter(organization=member.organization).select_related("user")
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "core/audit.html",
        {
            "form": form,
            "page": page,
            "actions": actions,
            "people": people,
            "query": query.urlencode(),
        },
    )


@org_page(Resource.SETTINGS, Action.VIEW, name="audit-export")
def audit_export(request: HttpRequest, member: Membership) -> HttpResponseBase:
    _form, entries = _audit_entries(request, member)
    buffer = audit_workbook(entries.order_by("created_at", "seq"))
    stamp = timezone.localdate().isoformat()
    return FileResponse(
        buffer, as_attachment=True, filename=f"journal-{member.organization.slug}-{stamp}.xlsx"
    )


class OrgSettingsForm(StyledForm):
    name = forms.CharField(label=gettext_lazy("Company name"), max_length=200)
    require_admin_2fa = forms.BooleanField(
        label=gettext_lazy("Require two-factor authentication for administrators"), required=False
    )


@org_page(Resource.SETTINGS, Action.CHANGE, name="org-settings", methods=("GET", "POST"))
def org_settings(request: HttpRequest, member: Membership) -> HttpResponse:
    org = member.organization
    form = OrgSettingsForm(
        request.POST or None, initial={"name": org.name, "require_admin_2fa": org.require_admin_2fa}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_organization(org, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("core:org-settings", org=org.slug)
    return render(request, "core/org_settings.html", {"form": form})


# --- the demo mailbox: e-mails written to a folder, shown in the browser -----


def _mailbox() -> Path:
    if not settings.COMPTOIR_SHOW_MAILBOX or not settings.EMAIL_FILE_PATH:
        raise Http404
    return Path(settings.EMAIL_FILE_PATH)


def mailbox(request: HttpRequest) -> HttpResponse:
    folder = _mailbox()
    files = sorted(folder.glob("*.log"), key=lambda path: path.stat().st_mtime, reverse=True)
    mails = []
    for path in files[:50]:
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if raw.strip():
                message = message_from_bytes(raw.strip(), policy=policy.default)
                body = message.get_body(preferencelist=("plain",))
                mails.append(
                    {
                        "to": message["To"],
                        "subject": message["Subject"],
                        "date": message["Date"],
                        "body": body.get_content() if body else "",
                    }
                )
    return render(request, "core/mailbox.html", {"mails": mails, "folder": folder})
