"""Forms of the Compléments pages. They type the input; the services check the rules
(TTC = HT + TVA, a vehicle of the member, a year the scale covers…)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from comptoir.core.errors import DomainError
from comptoir.core.forms import StyledForm
from comptoir.core.models import Membership
from comptoir.expenses import listing
from comptoir.expenses.files import ACCEPT, MAX_RECEIPT_BYTES
from comptoir.expenses.listing import parse_month
from comptoir.expenses.models import ExpenseCategory, Vehicle
from comptoir.expenses.services import category_by_code, dossier_by_number, parse_decimal

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
AMOUNT_WIDGET = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
AMOUNTS = ("amount_ttc", "amount_ht", "amount_vat")


def member_choices(members: Any) -> list[tuple[str, str]]:
    return [
        (
            str(m.public_id),
            gettext("%(name)s (blocked)") % {"name": m.display_name}
            if m.is_blocked
            else m.display_name,
        )
        for m in members
    ]


class ReceiptForm(StyledForm):
    member = forms.ChoiceField(label=_("Member"))
    date = forms.DateField(label=_("Date"), widget=DATE_WIDGET)
    supplier = forms.CharField(label=_("Supplier"), max_length=200)
    category = forms.ChoiceField(label=_("Category"))
    amount_ttc = forms.CharField(
        label=_("Amount incl. VAT (€)"),
        max_length=20,
        widget=AMOUNT_WIDGET,
        help_text=_("Leave the amount excl. VAT or the VAT empty to have it computed."),
    )
    amount_ht = forms.CharField(
        label=_("Amount excl. VAT (€)"), max_length=20, required=False, widget=AMOUNT_WIDGET
    )
    amount_vat = forms.CharField(
        label=_("VAT (€)"), max_length=20, required=False, widget=AMOUNT_WIDGET
    )
    dossier = forms.CharField(
        label=_("Dossier number (optional)"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    file = forms.FileField(
        label=_("Photo or PDF of the receipt"),
        help_text=_("JPEG, PNG or HEIC photo, or PDF; 20 MB at most."),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )

    def __init__(
        self,
        *args: Any,
        members: Any,
        categories: list[ExpenseCategory],
        with_file: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = member_choices(members)  # type: ignore[attr-defined]
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            (category.code, category.label) for category in categories
        ]
        if not with_file:
            del self.fields["file"]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_RECEIPT_BYTES:
            raise forms.ValidationError(_("The file is too large (20 MB at most)."))
        return upload

    def clean(self) -> dict[str, Any]:
        """An empty amount excl. VAT or VAT is computed from the two others."""
        data = super().clean() or {}
        ttc, ht, vat = (str(data.get(name) or "").strip() for name in AMOUNTS)
        if not ttc or (ht and vat):
            return data
        if not ht and not vat:
            self.add_error("amount_ht", _("Enter the amount excl. VAT or the VAT."))
            return data
        given = "amount_vat" if vat else "amount_ht"
        try:
            total = parse_decimal(ttc, "amount_ttc", str(self.fields["amount_ttc"].label), 2)
            part = parse_decimal(data[given], given, str(self.fields[given].label), 2)
        except DomainError as exc:
            self.add_error(exc.details["field"], exc.message)
            return data
        missing = "amount_ht" if given == "amount_vat" else "amount_vat"
        data[missing] = str(total - part)
        return data

    def receipt_fields(self, member: Membership) -> dict[str, Any]:
        """The valid form as the receipt services take it, looked up as `member` may: the
        member chosen among their colleagues (themself when the form asks for no member),
        the category by its code, the dossier by its number among those they see."""
        data = self.cleaned_data
        category = category_by_code(member.organization, data["category"])
        chosen = listing.colleague(member, data["member"]) if "member" in self.fields else member
        return {
            "member": chosen,
            "date": data["date"],
            "supplier": data["supplier"],
            "category": category,
            "amount_ttc": data["amount_ttc"],
            "amount_ht": data["amount_ht"],
            "amount_vat": data["amount_vat"],
            "dossier": dossier_by_number(listing.dossiers(member), data["dossier"]),
            "notes": data["notes"],
        }


class CancelForm(StyledForm):
    reason = forms.CharField(
        label=_("Reason for cancelling"),
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": _("Entered twice, wrong member…")}),
    )


class CategoryForm(StyledForm):
    label = forms.CharField(label=_("Label"), max_length=80)


class VehicleForm(StyledForm):
    member = forms.ChoiceField(label=_("Member"))
    label = forms.CharField(
        label=_("Vehicle"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("Peugeot 208, Kangoo…")}),
    )
    registration = forms.CharField(label=_("Registration"), max_length=20, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=Vehicle.Kind.choices)
    fiscal_power = forms.IntegerField(
        label=_("Fiscal horsepower (CV)"),
        min_value=1,
        max_value=99,
        required=False,
        help_text=_("Box P.6 of the registration certificate; not needed for a moped."),
    )
    is_electric = forms.BooleanField(label=_("Electric vehicle (+20 %)"), required=False)
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)

    def __init__(self, *args: Any, members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = member_choices(members)  # type: ignore[attr-defined]


class TripForm(StyledForm):
    member = forms.ChoiceField(label=_("Member"))
    vehicle = forms.ChoiceField(label=_("Vehicle"))
    date = forms.DateField(label=_("Date"), widget=DATE_WIDGET)
    origin = forms.CharField(label=_("From"), max_length=200)
    destination = forms.CharField(label=_("To"), max_length=200)
    distance_km = forms.CharField(
        label=_("Distance (km)"),
        max_length=10,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=_("Business kilometres of the trip (a return trip counts both ways)."),
    )
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": _("Diagnostics at…, agency meeting…")}),
    )
    dossier = forms.CharField(
        label=_("Dossier number (optional)"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, members: Any, vehicles: list[Vehicle], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = member_choices(members)  # type: ignore[attr-defined]
        self.fields["vehicle"].choices = [  # type: ignore[attr-defined]
            (str(v.public_id), f"{v.label} — {v.member.display_name} ({v.description})")
            for v in vehicles
        ]


class ListFilters(StyledForm):
    member = forms.ChoiceField(label=_("Member"), required=False)
    month = forms.CharField(
        label=_("Month"),
        required=False,
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-01"}),
    )
    category = forms.ChoiceField(label=_("Category"), required=False)
    vehicle = forms.ChoiceField(label=_("Vehicle"), required=False)
    cancelled = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[("", _("Valid entries")), ("1", _("Cancelled entries")), ("all", _("All"))],
    )

    def __init__(
        self,
        *args: Any,
        members: Any,
        categories: list[ExpenseCategory] | None = None,
        vehicles: list[Vehicle] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        everyone = [("", _("Everyone")), *member_choices(members)]
        self.fields["member"].choices = everyone  # type: ignore[attr-defined]
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            ("", _("All")),
            *((c.code, c.label) for c in categories or []),
        ]
        self.fields["vehicle"].choices = [  # type: ignore[attr-defined]
            ("", _("All")),
            *((str(v.public_id), f"{v.label} — {v.member.display_name}") for v in vehicles or []),
        ]

    def clean_month(self) -> str:
        month = str(self.cleaned_data.get("month") or "")
        if month and parse_month(month) is None:
            raise forms.ValidationError(_("Enter a month as YYYY-MM, e.g. 2026-03."))
        return month


class StatementForm(StyledForm):
    member = forms.ChoiceField(label=_("Member"))
    month = forms.CharField(
        label=_("Month"),
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-01"}),
    )

    def __init__(self, *args: Any, members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = member_choices(members)  # type: ignore[attr-defined]

    def clean_month(self) -> str:
        month = str(self.cleaned_data.get("month") or "")
        if parse_month(month) is None:
            raise forms.ValidationError(_("Enter a month as YYYY-MM, e.g. 2026-03."))
        return month


def selected_member(members: Any, public_id: str) -> Membership | None:
    return next((m for m in members if str(m.public_id) == public_id), None)
