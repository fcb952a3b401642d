"""Secrets stored in the database (SMTP passwords), encrypted with a key from SECRET_KEY.

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from settings.SECRET_KEY
by HKDF/SHA-256, so the database alone (a dump, a backup) does not reveal them.
Keys from SECRET_KEY_FALLBACKS still decrypt, so the secret key can be rotated;
a value written under a key that is gone cannot be read and must be entered again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils.translation import gettext as _

from comptoir.core.errors import DomainError

SALT = b"comptoir.company"
INFO = b"comptoir.company.smtp-password.v1"


class UnreadableSecret(DomainError):
    code = "unreadable_secret"


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _cipher() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet(key) for key in keys])


def encrypt(plain: str) -> str:
    return _cipher().encrypt(plain.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise UnreadableSecret(
            _(
                "The stored password can no longer be read (the server's "
                "secret key changed): enter the password again."
            )
        ) from None
