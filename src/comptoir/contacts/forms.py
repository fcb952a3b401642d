"""Contact forms: the record with repeated rows for addresses and extra e-mails/phones,
the list's filters, and the import's steps (file, then column mapping)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms import formset_factory
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from comptoir.contacts.importing import MAX_BYTES, target_choices
from comptoir.contacts.models import Contact, ContactChannel
from comptoir.core.forms import StyledForm, style_fields


class ContactForm(StyledForm):
    """The contact itself; the services check identifiers (SIREN, SIRET, VAT) and names."""

    kind = forms.ChoiceField(
        label=_("Person or company"), choices=Contact.Kind.choices, initial=Contact.Kind.PERSON
    )
    category = forms.ChoiceField(
        label=_("Category"), choices=Contact.Category.choices, initial=Contact.Category.CLIENT
    )
    civility = forms.CharField(
        label=_("Civility"),
        max_length=10,
        required=False,
        widget=forms.TextInput(attrs={"list": "civilities"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    company_name = forms.CharField(label=_("Company name"), max_length=200, required=False)
    email = forms.CharField(
        label=_("E-mail"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}),
    )
    siren = forms.CharField(
        label="SIREN",
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    siret = forms.CharField(
        label="SIRET",
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    vat_number = forms.CharField(
        label=capfirst(_("VAT number")),
        max_length=30,
        required=False,
        help_text=_("French or other EU number, e.g. FR40303265045."),
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    @classmethod
    def for_contact(cls, contact: Contact | None, data: Any = None) -> ContactForm:
        initial = {}
        if contact is not None:
            initial = {name: getattr(contact, name) for name in cls.base_fields}
        return cls(data, initial=initial)


class AddressForm(StyledForm):
    label = forms.CharField(
        label=_("Label"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Head office, home…")}),
    )
    street = forms.CharField(label=_("Street"), max_length=200, required=False)
    postcode = forms.CharField(
        label=_("Postcode"),
        max_length=10,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    country = forms.CharField(label=_("Country"), max_length=2, required=False, initial="FR")


class ChannelForm(StyledForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=ContactChannel.Kind.choices)
    label = forms.CharField(
        label=_("Label"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Mobile, office…")}),
    )
    value = forms.CharField(label=_("E-mail or number"), max_length=254, required=False)


AddressFormSet = formset_factory(AddressForm, extra=0, max_num=20, absolute_max=20)
ChannelFormSet = formset_factory(ChannelForm, extra=0, max_num=30, absolute_max=30)


def part_formsets(
    data: Any = None,
    addresses: list[dict[str, Any]] | None = None,
    channels: list[dict[str, Any]] | None = None,
    more: str = "",
) -> tuple[Any, Any]:
    """The repeated rows: the current ones plus one empty row each (two when asked
    for "more"); without JavaScript, "add a row" is a round trip that keeps the input."""
    if data is not None:
        data = data.copy()
        for prefix in ("addresses", "channels"):
            total = int(data.get(f"{prefix}-TOTAL_FORMS") or 0)
            data[f"{prefix}-TOTAL_FORMS"] = str(total + (1 if more == prefix else 0))
        address_set = AddressFormSet(data, prefix="addresses")
        channel_set = ChannelFormSet(data, prefix="channels")
    else:
        address_set = AddressFormSet(
            prefix="addresses", initial=[*(addresses or []), {"country": "FR"}]
        )
        channel_set = ChannelFormSet(prefix="channels", initial=[*(channels or []), {}])
    for formset in (address_set, channel_set):
        for form in formset.forms:
            style_fields(form)
    return address_set, channel_set


def part_values(formset: Any) -> list[dict[str, Any]]:
    return [
        form.cleaned_data
        for form in formset.forms
        if form.is_valid()
        and any(
            form.cleaned_data.get(name) for name in ("street", "postcode", "city", "value", "label")
        )
    ]


class ContactFilters(StyledForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("All")), *Contact.Category.choices]
    )
    kind = forms.ChoiceField(
        label=_("Person or company"),
        required=False,
        choices=[("", _("All")), *Contact.Kind.choices],
    )
    sort = forms.CharField(required=False, max_length=40)


class ImportFileForm(StyledForm):
    file = forms.FileField(
        label=_("Spreadsheet (XLSX) or CSV file"),
        help_text=_("The first line holds the column headings. 10 MB at most."),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,.csv,.txt,text/csv,application/vnd."
                "openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("The file is too large (%(size)d MB at most).")
                % {"size": MAX_BYTES // (1024 * 1024)}
            )
        return upload


class MappingForm(forms.Form):
    """One choice per column of the file, the category of rows that give none, and
    the duplicate lines to import anyway."""

    default_category = forms.ChoiceField(
        label=_("Category when the file gives none"),
        choices=Contact.Category.choices,
        initial=Contact.Category.CLIENT,
    )

    def __init__(
        self, headers: tuple[str, ...], guessed: list[str], *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("— ignore —")), *target_choices()]
        self.headers = headers
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header, choices=choices, required=False, initial=guessed[index]
            )
        style_fields(self)
        for name, field in self.fields.items():
            field.widget.attrs["class"] += " form-select-sm"
            if name.startswith("col_"):
                field.widget.attrs["data-column"] = name[4:]

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(f"col_{index}") or "" for index in range(len(self.headers))]

    def column_fields(self) -> list[Any]:
        return [self[f"col_{index}"] for index in range(len(self.headers))]


def forced_lines(values: list[str]) -> set[int]:
    return {int(value) for value in values if value.isdigit() and len(value) < 9}
