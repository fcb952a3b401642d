"""Forms of the settings-bundle and drop-down list pages. They type the input; the
services check the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.bundles.sections import SECTIONS
from comptoir.core.forms import StyledForm


def section_choices(names: list[str] | None = None) -> list[tuple[str, str]]:
    return [
        (section.name, str(section.label))
        for section in SECTIONS
        if names is None or section.name in names
    ]


class SectionsForm(forms.Form):
    """The sections to import or to publish (checkboxes)."""

    sections = forms.MultipleChoiceField(
        label=_("Sections"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one section.")},
    )

    def __init__(self, *args: Any, names: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sections"].choices = section_choices(names)  # type: ignore[attr-defined]


class DropdownListForm(StyledForm):
    label = forms.CharField(label=_("Name of the list"), max_length=200)
    key = forms.CharField(
        label=_("Key"),
        max_length=60,
        required=False,
        help_text=_(
            "How the field software names the list, such as “pieces”; made from the "
            "name when left empty. It cannot be changed afterwards."
        ),
    )


class DropdownItemForm(StyledForm):
    key = forms.CharField(label=_("Key"), max_length=100, required=False)
    label = forms.CharField(label=_("Label"), max_length=200, required=False)
    description = forms.CharField(
        label=_("Description"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    remove = forms.BooleanField(label=_("Remove"), required=False)

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not any(data.get(name) for name in ("key", "label", "description"))


DropdownItemFormSet = forms.formset_factory(DropdownItemForm, extra=3, max_num=2000)
