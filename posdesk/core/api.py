"""API plumbing shared by every router: the one error shape, Idempotency-Key handling and
common schemas. The NinjaAPI instance itself is wired in config/api.py."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from posdesk.core.errors import ApplicationError

logger = logging.getLogger("posdesk.api")


class ErrorOut(Schema):
    """Every error answer: a stable machine `code`, a `message` in the request's language
    (zh-Hans by default, English with `Accept-Language: en`), and `detail` (field, limits …)."""

    code: str
    message: str
    detail: Any = None


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}


def error_response(api: NinjaAPI, request: HttpRequest, *, status: int, code: str, message: Any,
                   detail: Any = None) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": str(message), "detail": detail}, status=status)


_FIELD_MESSAGES = {
    "missing": _("This field is required."),
    "json_invalid": _("The request body is not valid JSON."),
}


def _validation_detail(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    detail = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload", "query", "form")]
        message = _FIELD_MESSAGES.get(error.get("type", ""))
        detail.append(
            {
                "field": ".".join(loc),
                "type": error.get("type"),
                "message": str(message) if message else error.get("msg", ""),
            }
        )
    return detail


def install_error_handlers(api: NinjaAPI) -> None:
    def on_application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
        return error_response(api, request, status=exc.status, code=exc.code, message=exc.message, detail=exc.detail)

    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        detail = _validation_detail(exc.errors)
        fields = ", ".join(d["field"] for d in detail if d["field"])
        message = gettext("Some fields are not valid: %(fields)s") % {"fields": fields} if fields else \
            gettext("Some fields are not valid.")
        return error_response(api, request, status=422, code="validation_error", message=message, detail=detail)

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc, AuthenticationError):
            return error_response(api, request, status=401, code="not_authenticated",
                                  message=_("Sign-in required: send a valid token in the Authorization header."))
        if isinstance(exc, AuthorizationError):
            return error_response(api, request, status=403, code="forbidden",
                                  message=_("You are not allowed to do this."))
        if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
            return error_response(api, request, status=400, code="malformed_json",
                                  message=_("The request body is not valid JSON."))
        if exc.status_code == 429:
            return error_response(api, request, status=429, code="throttled",
                                  message=_("Too many attempts. Please wait and try again."))
        return error_response(api, request, status=exc.status_code, code="http_error", message=str(exc))

    def on_404(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(api, request, status=404, code="not_found",
                              message=_("The requested item does not exist or you may not see it."))

    def on_data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
        # The database refused a value the schemas let through (PostgreSQL: too long for its column,
        # NUL character, number out of range). It is the caller's input, so 422 rather than 500.
        logger.warning("database refused a value", extra={"error": str(exc)[:200], "path": request.path})
        return error_response(api, request, status=422, code="invalid_value",
                              message=_("A value is too long or contains characters that cannot be stored."))

    api.add_exception_handler(ApplicationError, on_application_error)
    api.add_exception_handler(DataError, on_data_error)
    api.add_exception_handler(ValidationError, on_validation_error)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_404)


def idempotency_key(request: HttpRequest) -> str | None:
    return request.headers.get("Idempotency-Key")


def principal(request: HttpRequest) -> str:
    return f"user:{request.auth.pk}"  # type: ignore[attr-defined]


IDEMPOTENCY_HEADER_DOC = (
    "Send an `Idempotency-Key` header (1–255 characters, e.g. a UUID) to make this create safe to "
    "retry: a retry with the same key and body returns the first answer and creates nothing; the same "
    "key with a different body answers 409 `idempotency_key_reused`."
)
