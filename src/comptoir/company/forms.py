"""Forms of the settings pages. They type the input; the services check the rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from comptoir.company.formatting import french_number, percent
from comptoir.company.models import VAT_RATES, CompanyProfile, Device, SmtpSettings, Tariff
from comptoir.core.forms import StyledForm, style_fields
from comptoir.core.models import Organization
from comptoir.dossiers.models import BUILTIN_MISSION_TYPES, MissionType

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
AMOUNT = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})


def _amount_text(value: Decimal | None) -> str:
    return french_number(value) if value is not None else ""


def apply_errors(form: forms.Form, details: Any, message: str) -> None:
    """Put a service's refusal next to the fields it names (or on top of the form)."""
    errors = details.get("errors") if isinstance(details, dict) else None
    if not errors:
        field = details.get("field") if isinstance(details, dict) else None
        errors = {field: message}
    for field, text in errors.items():
        form.add_error(field if field in form.fields else None, text)
    style_fields(form)  # mark the refused fields as invalid


class ProfileForm(StyledForm):
    legal_name = forms.CharField(label=_("Company name"), max_length=200, required=False)
    legal_form = forms.ChoiceField(
        label=_("Legal form"),
        required=False,
        choices=[("", "—"), *CompanyProfile.LegalForm.choices],
    )
    share_capital = forms.CharField(
        label=_("Share capital (€)"), max_length=30, required=False, widget=AMOUNT
    )
    siret = forms.CharField(
        label="SIRET",
        max_length=20,
        required=False,
        help_text=_("14 digits; the SIREN is taken from it."),
    )
    siren = forms.CharField(label="SIREN", max_length=12, required=False)
    naf_code = forms.CharField(
        label=_("NAF code"),
        max_length=8,
        required=False,
        help_text=_("Such as 71.20B (technical testing and analysis)."),
    )
    vat_number = forms.CharField(
        label=pgettext_lazy("form label", "VAT number"), max_length=20, required=False
    )
    street = forms.CharField(label=_("Street"), max_length=200, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=10, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    country = forms.CharField(label=_("Country"), max_length=60, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        help_text=_("Replies to the e-mails Comptoir sends go here."),
    )
    website = forms.CharField(label=_("Website"), max_length=200, required=False)
    insurer = forms.CharField(label=_("Insurance company"), max_length=120, required=False)
    policy_number = forms.CharField(label=_("Policy number"), max_length=60, required=False)
    policy_expires_on = forms.DateField(label=_("Policy expiry date"), required=False, widget=DATE)
    iban = forms.CharField(
        label="IBAN",
        max_length=42,
        required=False,
        help_text=_("Printed on invoices for payment by transfer; spaces are allowed."),
    )
    bic = forms.CharField(label="BIC", max_length=14, required=False)
    bank_name = forms.CharField(label=_("Bank"), max_length=120, required=False)
    sales_journal = forms.CharField(
        label=_("Sales journal code"),
        max_length=10,
        required=False,
        help_text=_("The journal invoices are exported to, usually VE."),
    )
    bank_journal = forms.CharField(
        label=_("Bank journal code"),
        max_length=10,
        required=False,
        help_text=_("The journal payments are exported to, usually BQ."),
    )
    customer_account_prefix = forms.CharField(
        label=_("Customer account prefix"),
        max_length=12,
        required=False,
        help_text=_("Customer accounts start with it, usually 411."),
    )
    vat_regime = forms.ChoiceField(
        label=_("VAT regime"),
        required=False,
        choices=[("", "—"), *CompanyProfile.VatRegime.choices],
    )
    document_footer = forms.CharField(
        label=_("Document footer"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Printed at the bottom of quotes and invoices (legal mentions, bank…)."),
    )

    SECTIONS = [
        (
            _("Identity"),
            [
                "legal_name",
                "legal_form",
                "share_capital",
                "siret",
                "siren",
                "naf_code",
                "vat_number",
            ],
        ),
        (
            _("Address and contact"),
            ["street", "postcode", "city", "country", "phone", "email", "website"],
        ),
        (_("Professional liability insurance"), ["insurer", "policy_number", "policy_expires_on"]),
        (
            _("Accounting and bank details"),
            [
                "iban",
                "bic",
                "bank_name",
                "vat_regime",
                "sales_journal",
                "bank_journal",
                "customer_account_prefix",
            ],
        ),
        (_("Documents"), ["document_footer"]),
    ]

    @classmethod
    def for_profile(cls, profile: CompanyProfile, data: Any = None) -> ProfileForm:
        initial = {name: getattr(profile, name) for name in cls.base_fields}
        initial["share_capital"] = _amount_text(profile.share_capital)
        initial["iban"] = profile.iban_display
        return cls(data, initial=initial)

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(str(title), [self[name] for name in names]) for title, names in self.SECTIONS]


class LogoForm(StyledForm):
    logo = forms.FileField(
        label=_("Image file"),
        help_text=_("PNG, JPEG, GIF or WebP, 2 MB at most."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )


class DocumentForm(StyledForm):
    file = forms.FileField(
        label=_("PDF file"), widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"})
    )


class TariffForm(StyledForm):
    code = forms.CharField(label=_("Code"), max_length=30)
    label = forms.CharField(label=_("Label"), max_length=200)
    mission_type = forms.ChoiceField(label=_("Mission type"), required=False)
    price_excl_vat = forms.CharField(label=_("Price excl. VAT (€)"), max_length=20, widget=AMOUNT)
    vat_rate = forms.ChoiceField(
        label=_("VAT rate"),
        choices=[(str(rate), percent(rate)) for rate in VAT_RATES],
        initial=str(VAT_RATES[0]),
    )

    def __init__(self, org: Organization, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The built-in types are offered even before the organisation's first dossier
        # created them; the service creates them when a tariff needs one.
        labels = dict(BUILTIN_MISSION_TYPES)
        labels.update(
            MissionType.objects.filter(organization=org, is_active=True).values_list(
                "code", "label"
            )
        )
        self.fields["mission_type"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *labels.items(),
        ]

    @classmethod
    def for_tariff(cls, tariff: Tariff, data: Any = None) -> TariffForm:
        return cls(
            tariff.organization,
            data,
            initial={
                "code": tariff.code,
                "label": tariff.label,
                "mission_type": tariff.mission_type.code if tariff.mission_type else "",
                "price_excl_vat": _amount_text(tariff.price_excl_vat),
                "vat_rate": str(tariff.vat_rate),
            },
        )

    def changes(self) -> dict[str, Any]:
        """The service takes the mission type's code (or None)."""
        data = dict(self.cleaned_data)
        return {**data, "mission_type": data["mission_type"] or None}


class DeviceForm(StyledForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=Device.Kind.choices)
    manufacturer = forms.CharField(label=_("Manufacturer"), max_length=80, required=False)
    model_reference = forms.CharField(label=_("Model"), max_length=80, required=False)
    serial_number = forms.CharField(label=_("Serial number"), max_length=60, required=False)
    expiry_kind = forms.ChoiceField(label=_("What expires"), choices=Device.ExpiryKind.choices)
    expires_on = forms.DateField(
        label=_("Expiry date"),
        required=False,
        widget=DATE,
        help_text=_("Next calibration, or end of the source's life."),
    )
    notes = forms.CharField(
        label=_("Notes"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    @classmethod
    def for_device(cls, device: Device, data: Any = None) -> DeviceForm:
        return cls(data, initial={name: getattr(device, name) for name in cls.base_fields})


class SmtpForm(StyledForm):
    host = forms.CharField(
        label=_("SMTP server"),
        max_length=200,
        help_text=_("Such as smtp.office365.com, smtp.gmail.com or ssl0.ovh.net."),
    )
    port = forms.IntegerField(label=_("Port"), min_value=1, max_value=65535, initial=587)
    security = forms.ChoiceField(
        label=_("Security"),
        choices=SmtpSettings.Security.choices,
        initial=SmtpSettings.Security.STARTTLS,
    )
    username = forms.CharField(
        label=_("User name"),
        max_length=200,
        required=False,
        help_text=_("Usually the e-mail address itself."),
    )
    password = forms.CharField(
        label=_("Password"),
        required=False,
        max_length=500,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    clear_password = forms.BooleanField(label=_("Remove the stored password"), required=False)
    from_email = forms.EmailField(label=_("Sender address"))
    from_name = forms.CharField(label=_("Sender name"), max_length=120, required=False)

    @classmethod
    def for_settings(
        cls, config: SmtpSettings | None, data: Any = None, default_email: str = ""
    ) -> SmtpForm:
        if config is None:
            return cls(data, initial={"from_email": default_email, "username": default_email})
        return cls(
            data,
            initial={
                name: getattr(config, name)
                for name in ("host", "port", "security", "username", "from_email", "from_name")
            },
        )


class SmtpTestForm(StyledForm):
    to = forms.EmailField(label=_("Send the test to"))
