"""Outgoing e-mail: the SMTP server of the organisation or of a member, and the test button.

`route()` is registered with `comptoir.accounts.outgoing` (see apps.py): when
accounts sends a message for an organisation, it asks here which server and
sender to use. Order: the member's own server, the organisation's, then the
platform's address (settings.DEFAULT_FROM_EMAIL) with Reply-To set to the
company's e-mail. Passwords are stored encrypted (`comptoir.company.crypto`).
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.accounts.outgoing import OutgoingRoute, build_message, connection_for
from comptoir.company.crypto import UnreadableSecret, decrypt, encrypt
from comptoir.company.models import CompanyProfile, SmtpSettings
from comptoir.company.services import FieldErrors
from comptoir.core import audit
from comptoir.core.errors import Conflict, DomainError
from comptoir.core.models import Membership, Organization

logger = logging.getLogger(__name__)

SMTP_FIELDS = ["host", "port", "security", "username", "from_email", "from_name"]
# "Send a test" waits for the answer in the request: a connection that hangs
# (a firewall dropping packets) must not hold the page longer than this.
TEST_TIMEOUT_SECONDS = 10
HOST_PATTERN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})\Z|^\[[0-9A-Fa-f:.]+\]\Z")


def settings_for(org: Organization, membership: Membership | None = None) -> SmtpSettings | None:
    """The organisation's server (membership None) or that member's own, if configured."""
    found = SmtpSettings.objects.filter(organization=org)
    if membership is None:
        return found.filter(membership__isnull=True).first()
    return found.filter(membership=membership).first()


def _state(config: SmtpSettings) -> dict[str, Any]:
    """What the audit log keeps: never the password, only whether there is one."""
    state = audit.snapshot(config, SMTP_FIELDS)
    state["password_set"] = config.has_password
    return state


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    host = str(data.get("host") or "").strip().lower()
    if not host or not HOST_PATTERN.match(host):
        errors["host"] = _("Enter the server's name, such as smtp.example.fr.")
    try:
        port = int(data.get("port") or 0)
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535:
        errors["port"] = _("Enter a port between 1 and 65535 (usually 587, or 465 for SSL).")
    security = str(data.get("security") or "")
    if security not in SmtpSettings.Security.values:
        errors["security"] = _("Choose the connection's security.")
    from_email = str(data.get("from_email") or "").strip().lower()
    try:
        validate_email(from_email)
    except ValidationError:
        errors["from_email"] = _("Enter the address the e-mails are sent from.")
    username = str(data.get("username") or "").strip()
    from_name = str(data.get("from_name") or "").strip()
    if len(username) > 200:
        errors["username"] = _("The user name is too long.")
    if len(from_name) > 120:
        errors["from_name"] = _("The sender name is too long (120 characters at most).")
    if errors:
        raise FieldErrors(errors)
    return {
        "host": host,
        "port": port,
        "security": security,
        "username": username,
        "from_email": from_email,
        "from_name": from_name,
    }


@transaction.atomic
def save_settings(
    org: Organization,
    *,
    actor: Any,
    membership: Membership | None = None,
    password: str | None = None,
    clear_password: bool = False,
    **fields: Any,
) -> SmtpSettings:
    """Create or change a server. An empty `password` keeps the stored one."""
    unknown = set(fields) - set(SMTP_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field: %(name)s.") % {"name": ", ".join(sorted(unknown))})
    if membership is not None and membership.organization_id != org.pk:
        raise DomainError(_("Unknown member."))
    cleaned = _clean(fields)
    found = SmtpSettings.objects.select_for_update().filter(organization=org)
    config = (
        found.filter(membership=membership) if membership else found.filter(membership__isnull=True)
    ).first()
    created = config is None
    if config is None:
        config = SmtpSettings(organization=org, membership=membership)
    before = {} if created else _state(config)
    for name, value in cleaned.items():
        setattr(config, name, value)
    new_password = bool(password)
    if password:
        config.password_encrypted = encrypt(password)
    elif clear_password:
        config.password_encrypted = ""
    try:
        with transaction.atomic():
            config.save()
    except IntegrityError:
        raise Conflict(
            _("This server was configured at the same moment by someone else: reload the page.")
        ) from None
    old, new = audit.diff(before, _state(config))
    if new_password:
        new["password_changed"] = True
    if new:
        audit.record(
            "smtp.create" if created else "smtp.update",
            organization=org,
            actor=actor,
            target=config,
            object_repr=_label(config),
            before=old,
            after=new,
        )
    return config


@transaction.atomic
def remove_settings(config: SmtpSettings, *, actor: Any) -> None:
    """Back to the platform's address (with Reply-To) for this organisation or member."""
    audit.record(
        "smtp.remove",
        organization=config.organization,
        actor=actor,
        target=config,
        object_repr=_label(config),
        before=_state(config),
        after=None,
    )
    SmtpSettings.objects.filter(pk=config.pk).delete()


def _label(config: SmtpSettings) -> str:
    whose = str(config.membership) if config.membership_id else _("organisation")
    return f"SMTP {whose} ({config.host})"


# --- routing: which server and sender a message uses ---------------------------------


def route_for_settings(
    config: SmtpSettings, profile: CompanyProfile | None = None, timeout: int | None = None
) -> OutgoingRoute:
    """The connection settings of one server; raises UnreadableSecret."""
    name = config.from_name
    if not name and config.membership_id is None:
        name = profile.display_name if profile is not None else config.organization.name
    route: OutgoingRoute = {
        "host": config.host,
        "port": config.port,
        "username": config.username,
        "password": decrypt(config.password_encrypted) if config.password_encrypted else "",
        "use_tls": config.security == SmtpSettings.Security.STARTTLS,
        "use_ssl": config.security == SmtpSettings.Security.SSL,
        "from_email": formataddr((name, config.from_email)) if name else config.from_email,
    }
    if timeout:
        route["timeout"] = timeout
    company_email = profile.email if profile is not None else ""
    if (
        config.membership_id is None
        and company_email
        and company_email.lower() != config.from_email.lower()
    ):
        route["reply_to"] = [company_email]
    return route


def platform_route(profile: CompanyProfile | None) -> OutgoingRoute | None:
    """No server of its own: the platform's address, the company's name, Reply-To its e-mail."""
    if profile is None or not profile.email:
        return None
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
    return {"from_email": formataddr((profile.display_name, address)), "reply_to": [profile.email]}


def route(organization_id: int | None, member_id: int | None) -> OutgoingRoute | None:
    """The router accounts' e-mail task asks (registered in CompanyConfig.ready)."""
    if organization_id is None:
        return None
    mine = Q(membership__isnull=True)
    if member_id is not None:
        mine |= Q(membership_id=member_id, membership__is_blocked=False)
    configs = list(
        SmtpSettings.objects.filter(mine, organization_id=organization_id).select_related(
            "organization"
        )
    )
    configs.sort(key=lambda config: config.membership_id is None)  # the member's first
    profile = (
        CompanyProfile.objects.select_related("organization")
        .filter(organization_id=organization_id)
        .first()
    )
    for config in configs:
        try:
            return route_for_settings(config, profile)
        except UnreadableSecret:
            logger.error(
                "SMTP settings %s: the password cannot be decrypted (SECRET_KEY "
                "changed?); falling back.",
                config.public_id,
            )
    return platform_route(profile)


# --- "send a test" -----------------------------------------------------------------


@dataclass(frozen=True)
class SmtpTestOutcome:
    ok: bool
    message: str


def send_test(config: SmtpSettings, *, actor: Any, to: str) -> SmtpTestOutcome:
    """Send a test message through this server now and say, in French, what happened.

    Synchronous on purpose: the person who pressed the button waits for the
    answer, bounded by TEST_TIMEOUT_SECONDS. The outcome is kept on the settings
    and in the audit log.
    """
    to = to.strip()
    try:
        validate_email(to)
    except ValidationError:
        raise DomainError(
            _("Enter the address the test e-mail goes to."), details={"field": "to"}
        ) from None
    profile = CompanyProfile.objects.filter(organization=config.organization).first()
    try:
        outgoing = route_for_settings(config, profile, timeout=TEST_TIMEOUT_SECONDS)
    except UnreadableSecret as exc:
        outcome = SmtpTestOutcome(False, exc.message)
    else:
        outcome = _attempt(config, outgoing, to, profile)
    _record_test(config, outcome, actor=actor, to=to)
    return outcome


def _attempt(
    config: SmtpSettings, outgoing: OutgoingRoute, to: str, profile: CompanyProfile | None
) -> SmtpTestOutcome:
    company = profile.display_name if profile else config.organization.name
    subject = _("Comptoir: test e-mail from %(company)s") % {"company": company}
    body = _(
        "Hello,\n\nThis message was sent by Comptoir through the server %(host)s "
        "(port %(port)s) to check the outgoing e-mail settings of %(company)s.\n\n"
        "If you read it, the settings work.\n"
    ) % {"host": config.host, "port": config.port, "company": company}
    message = build_message(
        [to], subject, body, route=outgoing, connection=connection_for(outgoing)
    )
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        logger.info("SMTP test through %s:%s failed: %r", config.host, config.port, exc)
        return SmtpTestOutcome(False, describe_error(exc, config, to))
    return SmtpTestOutcome(
        True,
        _("The test e-mail was accepted by %(host)s for %(to)s.") % {"host": config.host, "to": to},
    )


def _smtp_reply(exc: smtplib.SMTPResponseException) -> str:
    text = (
        exc.smtp_error.decode(errors="replace")
        if isinstance(exc.smtp_error, bytes)
        else str(exc.smtp_error)
    )
    return f"{exc.smtp_code} {text}".strip()


def describe_error(exc: BaseException, config: SmtpSettings, to: str) -> str:
    """An SMTP or network failure as a sentence that says what to check."""
    where = {"host": config.host, "port": config.port}
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _("The server refused the user name or the password (%(reply)s).") % {
            "reply": _smtp_reply(exc)
        }
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _("The server refused the sender address %(sender)s (%(reply)s).") % {
            "sender": config.from_email,
            "reply": _smtp_reply(exc),
        }
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _("The server refused the recipient %(to)s.") % {"to": to}
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return _(
            "The server does not offer this security (%(detail)s): choose another "
            "security setting or port."
        ) % {"detail": exc}
    if isinstance(exc, smtplib.SMTPResponseException):
        return _("The server answered with an error: %(reply)s.") % {"reply": _smtp_reply(exc)}
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return (
            _("The server %(host)s closed the connection: check the port and the security setting.")
            % where
        )
    if isinstance(exc, ssl.SSLError):
        return _(
            "The secure connection to %(host)s failed (%(detail)s): check the security "
            "setting (SSL/TLS usually on port 465, STARTTLS on 587)."
        ) % {**where, "detail": exc.reason or exc}
    if isinstance(exc, socket.gaierror):
        return _("The server name “%(host)s” cannot be found: check its spelling.") % where
    if isinstance(exc, ConnectionRefusedError):
        return (
            _(
                "The server %(host)s refused the connection on port %(port)s: check the "
                "server name and the port."
            )
            % where
        )
    if isinstance(exc, TimeoutError):
        return _(
            "The server %(host)s did not answer within %(seconds)s seconds: check the "
            "port and the security setting (a firewall may block it)."
        ) % {**where, "seconds": TEST_TIMEOUT_SECONDS}
    return _("Sending failed: %(detail)s.") % {"detail": exc}


@transaction.atomic
def _record_test(config: SmtpSettings, outcome: SmtpTestOutcome, *, actor: Any, to: str) -> None:
    SmtpSettings.objects.filter(pk=config.pk).update(
        last_test_at=timezone.now(), last_test_ok=outcome.ok, last_test_message=outcome.message
    )
    audit.record(
        "smtp.test",
        organization=config.organization,
        actor=actor,
        target=config,
        object_repr=_label(config),
        after={"to": to, "ok": outcome.ok, "message": outcome.message},
    )
