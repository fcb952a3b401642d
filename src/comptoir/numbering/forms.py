"""Forms of Paramètres › Numérotation. They type the input; the services check the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.core.forms import StyledForm
from comptoir.numbering import masks
from comptoir.numbering.models import Reset


class SeriesForm(StyledForm):
    mask = forms.CharField(
        label=_("Mask"),
        max_length=masks.MAX_MASK_LENGTH,
        help_text=_("Letters, digits, “-”, “_” and “.”, and the codes listed below."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    width = forms.IntegerField(
        label=_("Counter width"),
        min_value=masks.MIN_WIDTH,
        max_value=masks.MAX_WIDTH,
        help_text=_("Digits of the counter, padded with zeros: 5 gives 00042."),
    )
    reset = forms.ChoiceField(label=_("Counter restarts"), choices=Reset.choices)
    offset = forms.IntegerField(
        label=_("Starting offset"),
        min_value=0,
        max_value=masks.MAX_COUNTER - 1,
        help_text=_(
            "The counter of each new period starts after this value (0: the first number "
            "is 1). It applies from the next period; to change the current one, set the "
            "next number."
        ),
    )


class NextForm(StyledForm):
    next_value = forms.IntegerField(
        label=_("Next counter value"),
        min_value=1,
        max_value=masks.MAX_COUNTER,
        help_text=_("The counter of the next number given in the current period."),
    )
