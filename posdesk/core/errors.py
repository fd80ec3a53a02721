"""Domain errors. Every error a user can cause is an ApplicationError; adapters map it once:
the API to `{"code", "message", "detail"}` with the message in the request's language, pages to
form errors. Messages are lazy so they are rendered in the language active at response time."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    code = "application_error"
    status = 400
    default_message: str | Promise = _("The request could not be processed.")

    def __init__(
        self,
        message: str | Promise | None = None,
        *,
        code: str | None = None,
        detail: Any = None,
        status: int | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        if status:
            self.status = status
        self.detail = detail
        super().__init__(str(self.message))


class ValidationFailed(ApplicationError):
    code = "validation_error"
    status = 422
    default_message = _("Some fields are not valid.")


class NotFound(ApplicationError):
    code = "not_found"
    status = 404
    default_message = _("The requested item does not exist or you may not see it.")


class PermissionDenied(ApplicationError):
    code = "forbidden"
    status = 403
    default_message = _("You are not allowed to do this.")


class NotAuthenticated(ApplicationError):
    code = "not_authenticated"
    status = 401
    default_message = _("Sign-in required: send a valid token in the Authorization header.")


class Conflict(ApplicationError):
    code = "conflict"
    status = 409
    default_message = _("The request conflicts with the current state.")


class Throttled(ApplicationError):
    code = "throttled"
    status = 429
    default_message = _("Too many attempts. Please wait and try again.")


def field_error(field: str, message: str | Promise, *, code: str = "validation_error") -> ValidationFailed:
    """A validation error about one input field, with the field named in `detail`."""
    return ValidationFailed(message, code=code, detail={"field": field})
