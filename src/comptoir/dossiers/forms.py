from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from comptoir.contacts.models import Contact
from comptoir.core.forms import StyledForm
from comptoir.core.models import Membership, Organization
from comptoir.core.roles import TECHNICIAN_ROLES, Action, Resource, Scope
from comptoir.dossiers.models import CustomField, Document, Dossier, MissionType
from comptoir.dossiers.services import MAX_NOTE_LENGTH


class DossierForm(StyledForm):
    """Create or edit a dossier; works on a phone (one column under 768 px)."""

    missions = forms.MultipleChoiceField(
        label=_("Missions"), required=False, widget=forms.CheckboxSelectMultiple
    )
    ordering_party = forms.UUIDField(label=_("Ordering party"), required=False)
    owner = forms.UUIDField(label=_("Owner"), required=False)
    technician = forms.ModelChoiceField(
        label=_("Technician"),
        required=False,
        queryset=Membership.objects.none(),
        to_field_name="public_id",
    )
    appointment_at = forms.DateTimeField(
        label=_("Appointment"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"],
    )
    property_street = forms.CharField(label=_("Street"), max_length=200, required=False)
    property_postcode = forms.RegexField(
        label=_("Postcode"),
        regex=r"^\d{5}$",
        required=False,
        error_messages={"invalid": _("5 digits, e.g. 59000.")},
    )
    property_city = forms.CharField(label=_("City"), max_length=100, required=False)
    property_type = forms.ChoiceField(
        label=_("Property type"), choices=Dossier.PropertyType.choices
    )
    surface = forms.DecimalField(
        label=_("Surface (m²)"),
        required=False,
        min_value=0,
        max_digits=9,
        decimal_places=2,
        localize=True,
    )
    year_built = forms.IntegerField(
        label=_("Year built"), required=False, min_value=1000, max_value=2100
    )
    lots = forms.CharField(label=_("Lots"), max_length=200, required=False)
    floor = forms.CharField(label=_("Floor"), max_length=30, required=False)

    def __init__(
        self, member: Membership, *args: Any, instance: Dossier | None = None, **kwargs: Any
    ) -> None:
        self.member = member
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_for(instance)
        super().__init__(*args, **kwargs)
        org = member.organization
        offered = Q(is_active=True)
        if instance is not None:  # a deactivated type stays on the dossiers that have it
            offered |= Q(missions__dossier=instance)
        cast(forms.MultipleChoiceField, self.fields["missions"]).choices = [
            (kind.code, kind.label)
            for kind in MissionType.objects.filter(offered, organization=org).distinct()
        ]
        cast(forms.ModelChoiceField, self.fields["technician"]).queryset = technicians(org)
        if instance is not None and not instance.property_type:
            # a station may send a dossier without a property type: editing it must not
            # invent one, so the select offers "not given" (and only then)
            property_type = cast(forms.ChoiceField, self.fields["property_type"])
            property_type.choices = [("", _("— not given —")), *Dossier.PropertyType.choices]
            property_type.required = False
        if member.scope_for(Resource.DOSSIERS) is Scope.OWN:
            del self.fields["technician"]
        if not member.can(Resource.CONTACTS, Action.VIEW):
            del self.fields["ordering_party"], self.fields["owner"]
        self.custom_fields = list(CustomField.objects.filter(organization=org))
        for custom in self.custom_fields:
            self.fields[f"custom_{custom.key}"] = custom_form_field(custom)
            if instance is not None:
                self.initial[f"custom_{custom.key}"] = instance.custom_fields.get(custom.key)

    def contact(self, name: str) -> Contact | None:
        key = self.cleaned_data.get(name)
        if not key:
            return None
        found = Contact.objects.filter(organization=self.member.organization, public_id=key).first()
        if found is None:
            self.add_error(name, _("Unknown contact."))
        return found

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values = {
            name: data.get(name)
            for name in (
                "appointment_at",
                "property_street",
                "property_postcode",
                "property_city",
                "property_type",
                "surface",
                "year_built",
                "lots",
                "floor",
            )
        }
        for name in ("property_street", "property_postcode", "property_city", "lots", "floor"):
            values[name] = values[name] or ""
        for name in ("ordering_party", "owner"):
            if name in self.fields:
                values[name] = self.contact(name)
        if "technician" in self.fields:
            values["technician"] = data.get("technician")
        values["custom_fields"] = {
            custom.key: _jsonable(data.get(f"custom_{custom.key}")) for custom in self.custom_fields
        }
        return values


def technicians(org: Organization) -> QuerySet[Membership]:
    """Who can be given a dossier: active members who perform diagnostics or whose
    role is a technician's."""
    return (
        Membership.objects.filter(organization=org, is_blocked=False)
        .filter(Q(performs_diagnostics=True) | Q(role__in=TECHNICIAN_ROLES))
        .order_by("display_name")
    )


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def custom_form_field(custom: CustomField) -> forms.Field:
    if custom.kind == CustomField.Kind.NUMBER:
        return forms.DecimalField(label=custom.label, required=False, localize=True)
    if custom.kind == CustomField.Kind.DATE:
        return forms.DateField(
            label=custom.label, required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
    if custom.kind == CustomField.Kind.YES_NO:
        return forms.BooleanField(label=custom.label, required=False)
    return forms.CharField(label=custom.label, required=False, max_length=500)


def initial_for(dossier: Dossier) -> dict[str, Any]:
    return {
        "missions": list(dossier.missions.values_list("mission_type__code", flat=True)),
        "ordering_party": dossier.ordering_party.public_id if dossier.ordering_party else None,
        "owner": dossier.owner.public_id if dossier.owner else None,
        "technician": dossier.technician.public_id if dossier.technician else None,
        **{
            name: getattr(dossier, name)
            for name in (
                "appointment_at",
                "property_street",
                "property_postcode",
                "property_city",
                "property_type",
                "surface",
                "year_built",
                "lots",
                "floor",
            )
        },
    }


class DocumentForm(StyledForm):
    file = forms.FileField(label=_("File"))
    kind = forms.ChoiceField(
        label=_("Kind"), choices=Document.Kind.choices, initial=Document.Kind.REPORT
    )


class NoteForm(StyledForm):
    text = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=MAX_NOTE_LENGTH
    )


class MissionTypeForm(StyledForm):
    label = forms.CharField(
        label=_("Label"),
        max_length=100,
        help_text=_("The code used by the API is derived from it when the type is added."),
    )


class CustomFieldForm(StyledForm):
    label = forms.CharField(label=_("Label"), max_length=80)
    kind = forms.ChoiceField(
        label=_("Type"), choices=CustomField.Kind.choices, initial=CustomField.Kind.TEXT
    )

    def __init__(self, *args: Any, renaming: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if renaming:  # the values already stored keep their type
            del self.fields["kind"]
