"""The JSON API's foundation: one error shape, and organisation-scoped endpoints.

Every 4xx answer is `{"code": …, "message": …, "details": …}`. Endpoints under
`/orgs/{org}/…` are declared with `org_endpoint`, which resolves the caller's
membership (404 for an outsider), refuses writes with a read-only token, and
checks the role matrix (403), before the handler runs with the membership.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from functools import wraps
from typing import Annotated, Any, Protocol
from uuid import UUID

from annotated_types import Interval
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from pydantic import (
    BeforeValidator,
    ConfigDict,
    StrictInt,
    ValidationInfo,
    model_validator,
)
from pydantic.functional_validators import ModelWrapValidatorHandler

from comptoir.core.access import RouteRule, register_route, require
from comptoir.core.errors import DomainError, Forbidden
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource

# Value types Ninja's DjangoGetter hands over unchanged (not callable, not a manager,
# queryset or file): a dict holding only these validates the same with or without it.
_PLAIN_TYPES = frozenset(
    {str, int, float, bool, type(None), UUID, datetime, date, time, Decimal, list, tuple, dict}
)


class OutSchema(Schema):
    """A response schema for handlers that return plain dicts (e.g. `member_out`).

    Ninja's `Schema` wraps every object it validates in a `DjangoGetter`, so that a
    schema can read model attributes, managers and `resolve_*` methods; on a dict of
    plain values that wrapper only adds a Python call per field, which costs ~10x the
    validation itself on a 1,000-item list. Such a dict is validated directly; anything
    else (a model instance, a value needing conversion, a schema with resolvers or
    extra="forbid") goes through Ninja's own path, so the result is the same either way.
    """

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(
        cls, values: Any, handler: ModelWrapValidatorHandler[Any], info: ValidationInfo
    ) -> Any:
        if (
            type(values) is dict
            and not cls._ninja_resolvers
            and cls.model_config.get("extra") != "forbid"
            and not cls.model_config.get("validate_assignment", False)
            and _PLAIN_TYPES.issuperset(map(type, values.values()))
        ):
            return handler(values)
        # Ninja's own path (pydantic's decorator proxy is callable at run time).
        return super()._run_root_validator(values, handler, info)  # type: ignore[operator]


def _whole(value: Any) -> Any:
    """JSON Schema's "integer" is any number without a fraction: 4.0 is 4."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer as JSON Schema means it: 4 and 4.0, never `false` or "4". Bound it where it
# is used, `Field(ge=…, le=…)`, at most BIGINT_MAX: a number beyond what the database holds
# must be a 422, never a 500 on save (tests/core/test_api_schema.py checks every input).
BIGINT_MAX = 2**63 - 1
WholeNumber = Annotated[StrictInt, BeforeValidator(_whole)]
# The same, bounded in the type, for the values of a dict or a list (no Field there).
Count = Annotated[StrictInt, Interval(ge=0, le=BIGINT_MAX), BeforeValidator(_whole)]


class InSchema(Schema):
    """A JSON request body, validated as published: an object, nothing else.

    Ninja's `Schema` reads any value through attribute access, so `[null, null]` passed for
    a schema whose fields all have defaults: a request the OpenAPI document calls invalid
    was accepted. Declare booleans and integers `StrictBool` / `StrictInt` for the same
    reason (pydantic turns `0` into `false` and `"12"` into `12`); dates, UUIDs and
    decimals keep pydantic's conversion from JSON strings.
    """

    model_config = ConfigDict(from_attributes=False)

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(
        cls, values: Any, handler: ModelWrapValidatorHandler[Any], info: ValidationInfo
    ) -> Any:
        return handler(values)  # plain pydantic: a dict, or an error


class StrictParser(Parser):
    """Ninja's JSON and query-string reading, refusing what no field can hold.

    - U+0000 anywhere (PostgreSQL cannot store it in text: it was a 500 there);
    - a lone surrogate (`"\\ud800"` in JSON: half of a pair, no character at all), which
      no database and no file name can take (it was a 500 wherever the text was encoded);
    - a query parameter given twice when it takes one value (Ninja kept the last one):
      the values are passed on as a list, which the field's validation refuses.
    All answer 422 `invalid_input`, naming where the text is.
    """

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data: dict[str, Any] = parse_json(request.body)
        # JSON carries U+0000 only as an escape (a raw control character is not valid in
        # a string), a lone surrogate as an escape or as its three bytes (ED A0 80 to ED
        # BF BF, which json.loads lets through): a body without them needs no walk
        # (thousands of values in a station's push).
        body = request.body
        if (b"\\u" in body or b"\xed" in body) and _SUSPECT.search(body):
            refuse_unstorable(data, ["body"])
        return data

    def parse_querydict(
        self, data: Any, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key in data:
            values = data.getlist(key)
            result[key] = values if key in list_fields or len(values) > 1 else values[0]
            refuse_unstorable([key, *values], ["query", key])
        return result


def parse_json(raw: bytes) -> Any:
    """A request body read as JSON, or a 422 (`invalid_input`) that says why in French:
    not JSON (with the line and column), not UTF-8, nested too deep, or holding NaN or
    Infinity (which Python reads and no JSON holds)."""
    try:
        return json.loads(raw, parse_constant=_not_a_number)
    except _NotANumber as exc:
        message = _("The body is not valid JSON: %(constant)s is not a JSON number.") % {
            "constant": exc.args[0]
        }
    except ValueError as exc:  # JSON, or UTF-8, that does not read
        message = _unreadable(exc)
    except RecursionError:  # "[[[[…" nested beyond what the parser follows
        message = _("The body is not valid JSON: it is nested too deep.")
    raise NinjaValidationError([{"loc": ["body"], "msg": message}])


class _NotANumber(ValueError):
    pass


def _not_a_number(constant: str) -> Any:
    """NaN, Infinity and -Infinity, which Python's json reads but no JSON holds (PostgreSQL
    refused them: a 500; SQLite's check made a push "retry" forever)."""
    raise _NotANumber(constant)


def _unreadable(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return _("The body is not valid JSON: line %(line)s, column %(column)s.") % {
            "line": exc.lineno,
            "column": exc.colno,
        }
    if isinstance(exc, UnicodeDecodeError):
        return _("The body is not UTF-8 text (byte %(position)s).") % {"position": exc.start}
    return _("The body is not valid JSON.")


_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|\xed[\xa0-\xbf]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def refuse_unstorable(value: Any, loc: list[str | int]) -> None:
    """Refuse (422) a text no database can store, anywhere in `value` (keys too), naming
    where it is: U+0000, or a lone surrogate."""
    if isinstance(value, str):
        found = _UNSTORABLE.search(value)
        if found is None:
            return
        if found.group() == "\x00":
            message = _("The character U+0000 is not allowed.")
        else:
            message = _(
                "The text holds half of a character (lone surrogate U+%(code)s): "
                "it is not valid Unicode."
            ) % {"code": f"{ord(found.group()):04X}"}
        raise NinjaValidationError([{"loc": loc, "msg": message}])
    if isinstance(value, dict):
        for key, item in value.items():
            refuse_unstorable(key, loc)
            refuse_unstorable(item, [*loc, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            refuse_unstorable(item, [*loc, index])


class ErrorOut(Schema):
    code: str
    message: str
    details: Any = None


class Principal(Protocol):
    """Who is calling the API: a personal or station token, or a web session."""

    user: Any

    def membership(self, org_slug: str) -> Membership: ...

    @property
    def may_write(self) -> bool: ...


def is_station(principal: Any) -> bool:
    """Whether the caller holds a workstation's token (not a person's, not a session)."""
    return bool(getattr(principal, "is_station", False))


def error_response(
    api: NinjaAPI, request: HttpRequest, status: int, code: str, message: str, details: Any = None
) -> HttpResponse:
    body = {"code": code, "message": message, "details": details if details is not None else {}}
    return api.create_response(request, body, status=status)


def install_error_handlers(api: NinjaAPI) -> None:
    """Map every refusal to the one error shape."""

    def domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return error_response(api, request, exc.status, exc.code, exc.message, exc.details)

    def validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        details = [
            {
                "where": ".".join(str(part) for part in error.get("loc", [])),
                "problem": error.get("msg", ""),
            }
            for error in exc.errors
        ]
        where = ", ".join(item["where"] for item in details) or "request"
        message = _("Invalid input at %(where)s.") % {"where": where}
        return error_response(api, request, 422, "invalid_input", message, details)

    def authentication(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        message = _("Authentication required: send “Authorization: Bearer <token>”.")
        return error_response(api, request, 401, "unauthenticated", message)

    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(api, request, 404, "not_found", _("Not found."))

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc.__cause__, NinjaValidationError):  # raised by StrictParser.parse_body
            return validation(request, exc.__cause__)
        return error_response(api, request, exc.status_code, "http_error", str(exc))

    # Ninja types handlers as taking the exception or its class; they get an instance.
    api.add_exception_handler(DomainError, domain)  # type: ignore[arg-type]
    api.add_exception_handler(NinjaValidationError, validation)  # type: ignore[arg-type]
    api.add_exception_handler(AuthenticationError, authentication)  # type: ignore[arg-type]
    api.add_exception_handler(Http404, not_found)  # type: ignore[arg-type]
    api.add_exception_handler(HttpError, http_error)  # type: ignore[arg-type]


Handler = Callable[..., Any]


def org_endpoint(
    name: str, resource: Resource | None, action: Action = Action.VIEW, *, stations: bool = False
) -> Callable[[Handler], Handler]:
    """Wrap an API handler `(request, member, …)` into `(request, org: str, …)`.

    `stations=True`: a workstation's token passes on its role's station access
    (docs/roles.md, “Synchronisation depuis un poste”) instead of the web grant, so the
    technician without web access syncs numbers and settings from their station too."""

    def decorate(handler: Handler) -> Handler:
        register_route(RouteRule(name, "api", resource, action, ()))

        @wraps(handler)
        def wrapper(request: HttpRequest, org: str, *args: Any, **kwargs: Any) -> Any:
            principal: Principal = request.auth  # type: ignore[attr-defined]
            member = principal.membership(org)
            if action is not Action.VIEW and not principal.may_write:
                raise Forbidden(_("This token is read-only."), code="read_only_token")
            if stations and is_station(principal):
                if member.is_blocked or not member.spec.station_access:
                    raise Forbidden(
                        _("The account of this station may not do that."),
                        code="forbidden_for_role",
                    )
            else:
                require(member, resource, action)
            return handler(request, member, *args, **kwargs)

        wrapper.__signature__ = public_signature(handler)  # type: ignore[attr-defined]
        return wrapper

    return decorate


def public_signature(handler: Handler) -> inspect.Signature:
    """The handler's signature as the API sees it: `member` becomes the `org` path part."""
    hints = typing.get_type_hints(handler, include_extras=True)  # keep Query[...]
    params = list(inspect.signature(handler).parameters.values())
    request, _member, *rest = params
    org = inspect.Parameter("org", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str)
    resolved = [param.replace(annotation=hints.get(param.name, param.annotation)) for param in rest]
    return inspect.Signature([request, org, *resolved])
