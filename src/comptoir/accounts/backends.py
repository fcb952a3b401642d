from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models import Q
from django.http import HttpRequest

from comptoir.accounts.models import User


class LoginOrEmailBackend(ModelBackend):
    """Log in with either the login ("jdurant") or the e-mail address."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or not password:
            return None
        identifier = username.strip().lower()
        user = User.objects.filter(Q(login=identifier) | Q(email=identifier)).first()
        if user is None:
            User().set_password(password)  # same time whether or not the account exists
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
