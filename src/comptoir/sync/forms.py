"""Forms of the Comptoir Cloud pages: stations, the options window, data volume."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.core.models import Membership
from comptoir.sync.models import Station

HOURS = [("", "—"), *[(str(hour), f"{hour} h") for hour in range(24)]]


class StationAddForm(forms.Form):
    name = forms.CharField(label=_("Station name"), max_length=100)
    membership = forms.ModelChoiceField(
        label=_("Account used by the station"), queryset=Membership.objects.none()
    )

    def __init__(self, *args: Any, members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = members  # type: ignore[attr-defined]


class StationOptionsForm(forms.Form):
    """The per-station part of the options window (the seed's lines 5 to 13)."""

    own_settings = forms.BooleanField(
        label=_("Use different settings on this station"),
        required=False,
        help_text=_("Only meaningful when the common settings are in use."),
    )
    force_activation = forms.BooleanField(
        label=_("Force the activation of Comptoir Cloud on this station"), required=False
    )
    send_after_enabled = forms.BooleanField(label=_("Send dossiers dated after"), required=False)
    send_after = forms.DateField(
        label=_("date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    fetch_missing = forms.BooleanField(
        label=_("Fetch the dossiers missing on this station, planned after"), required=False
    )
    fetch_after = forms.DateField(
        label=_("date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    fetch_horizon_days = forms.IntegerField(
        label=_("excluding those planned more than (days ahead, -1 = no limit)"),
        min_value=-1,
        initial=-1,
    )
    update_present = forms.BooleanField(
        label=_("Update the dossiers present on the station"), required=False
    )
    fetch_statistics = forms.BooleanField(
        label=_("Fetch the data for statistics on this station (turnover, COFRAC…)"),
        required=False,
    )
    window_start = forms.TypedChoiceField(
        label=_("Sync only between"), choices=HOURS, required=False, coerce=int, empty_value=None
    )
    window_end = forms.TypedChoiceField(
        label=_("and"), choices=HOURS, required=False, coerce=int, empty_value=None
    )
    not_systematic = forms.BooleanField(
        label=_("Do not send the dossiers to the cloud systematically"), required=False
    )
    refresh_icon = forms.BooleanField(label=_("Refresh the sync status icon"), required=False)
    admin_password = forms.CharField(
        label=_("Administrator password of the options"),
        required=False,
        widget=forms.PasswordInput,
    )

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "force_activation": data["force_activation"],
            "send_after": (
                data["send_after"].isoformat()
                if data["send_after_enabled"] and data["send_after"]
                else None
            ),
            "fetch_missing": data["fetch_missing"],
            "fetch_after": data["fetch_after"].isoformat() if data["fetch_after"] else None,
            "fetch_horizon_days": data["fetch_horizon_days"],
            "update_present": data["update_present"],
            "fetch_statistics": data["fetch_statistics"],
            "window_start": data["window_start"],
            "window_end": data["window_end"],
            "not_systematic": data["not_systematic"],
            "refresh_icon": data["refresh_icon"],
        }

    @classmethod
    def initial_for(cls, own_settings: bool, values: dict[str, Any]) -> dict[str, Any]:
        return {
            **values,
            "own_settings": own_settings,
            "send_after_enabled": bool(values.get("send_after")),
        }


class CompanyOptionsForm(forms.Form):
    """The company-wide part of the options window (the seed's lines 1 to 4)."""

    enable_all = forms.BooleanField(
        label=_("Enable Comptoir Cloud on every station of the company"), required=False
    )
    use_common = forms.BooleanField(label=_("Use common settings for all stations"), required=False)
    no_newer_warning = forms.BooleanField(
        label=_("Do not warn that a newer dossier exists on the cloud"), required=False
    )
    no_invoice_import = forms.BooleanField(
        label=_("Do not import the stations' invoicing into the back-office"),
        required=False,
        help_text=_("We advise leaving this unchecked."),
    )
    invoice_station = forms.ModelChoiceField(
        label=_("Only this station may transfer invoices"),
        queryset=Station.objects.none(),
        required=False,
        empty_label=_("Any station"),
    )
    admin_password = forms.CharField(
        label=_("Current administrator password of the options"),
        required=False,
        widget=forms.PasswordInput,
    )
    new_admin_password = forms.CharField(
        label=_("New administrator password (leave empty to keep it)"),
        required=False,
        widget=forms.PasswordInput,
    )
    remove_admin_password = forms.BooleanField(
        label=_("Remove the administrator password"), required=False
    )

    def __init__(self, *args: Any, stations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invoice_station"].queryset = stations  # type: ignore[attr-defined]


class CleanupForm(forms.Form):
    date_from = forms.DateField(
        label=_("Dossiers dated from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("to"), widget=forms.DateInput(attrs={"type": "date"}))
    confirm_senders = forms.BooleanField(
        label=_("I know some stations still send this range"), required=False
    )
