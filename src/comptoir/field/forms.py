"""The field app's forms: the back-office forms, trimmed for a phone.

They add no rule of their own: the dossier, appointment and receipt forms of the
apps below type the input, their services decide.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.core.forms import style_fields
from comptoir.dossiers.forms import DossierForm
from comptoir.expenses.forms import ReceiptForm

# What a phone cannot enter without the back-office's scripts (contact pickers), or
# that the agenda sets (the appointment, from the "new appointment" form).
DOSSIER_FIELDS_LEFT_OUT = ("ordering_party", "owner", "appointment_at")


class FieldDossierForm(DossierForm):
    """A new dossier from the field: missions, the property and (for those who assign
    dossiers) the technician."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in DOSSIER_FIELDS_LEFT_OUT:
            self.fields.pop(name, None)
        self.fields["property_postcode"].widget.attrs["inputmode"] = "numeric"


class FieldReceiptForm(ReceiptForm):
    """A receipt of the member's own, its photo taken with the phone's camera."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["member"]
        photo = self.fields["file"]
        photo.label = _("Photo of the receipt")
        photo.help_text = _("Take the photo with the camera, or choose a picture.")
        photo.widget = forms.FileInput(attrs={"accept": "image/*", "capture": "environment"})
        style_fields(self)
