"""Errors the domain raises; pages and the API turn them into 4xx answers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Model


class DomainError(Exception):
    """A refusal the user can understand: a code for programs, a message for people."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details if details is not None else {}


def invalid_model(exc: ValidationError, model: type[Model]) -> DomainError:
    """A model's full_clean() refusal as a DomainError naming the first field by its label."""
    name, messages = next(iter(exc.message_dict.items()))
    label = name
    if name != NON_FIELD_ERRORS:
        label = str(getattr(model._meta.get_field(name), "verbose_name", name))
    text = " ".join(messages)
    return DomainError(
        f"{label}: {text}" if name != NON_FIELD_ERRORS else text,
        details={"field": name, "errors": exc.message_dict},
    )


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409


class LimitExceeded(Conflict):
    code = "plan_limit_exceeded"
