"""Form bases that give widgets Bootstrap's classes and accessible descriptions."""

from __future__ import annotations

from typing import Any

from django import forms

from comptoir.core.errors import DomainError


def style_fields(form: forms.BaseForm) -> None:
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        elif getattr(widget, "input_type", "") == "color":
            css = "form-control form-control-color"
        else:
            css = "form-control"
        # `_errors` is None until validation ran; never trigger it from here, as
        # subclasses finish setting up their fields after this base's __init__.
        errors = getattr(form, "_errors", None)
        if errors and name in errors:
            css += " is-invalid"
        widget.attrs["class"] = css
        if field.help_text:
            widget.attrs["aria-describedby"] = f"id_{name}_helptext"


def show_refusal(form: forms.BaseForm, exc: DomainError) -> None:
    """A service's refusal shown on the field it names (or above the form), that field
    marked invalid."""
    name = exc.details.get("field") if isinstance(exc.details, dict) else None
    form.add_error(name if name in form.fields else None, exc.message)
    style_fields(form)


class StyledForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_fields(self)

    def full_clean(self) -> None:
        super().full_clean()
        style_fields(self)


class StyledModelForm(forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_fields(self)
