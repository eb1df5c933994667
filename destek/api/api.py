"""The JSON API at /api/v1/: each app's router assembled, and one shape for every error."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from destek.api.accounts import router as accounts_router
from destek.api.announcements import router as announcements_router
from destek.api.auth import BearerAuth
from destek.api.chats import router as chats_router
from destek.api.chats_availability import router as chats_availability_router
from destek.api.kb import router as kb_router
from destek.api.macros import router as macros_router
from destek.api.people import router as people_router
from destek.api.reports import router as reports_router
from destek.api.surveys import router as surveys_router
from destek.api.tickets import router as tickets_router
from destek.api.time_entries import router as time_router
from destek.api.webhooks import router as webhooks_router
from destek.lib.errors import ActionRefused

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail", "code"],
}
COMMON_ERRORS = {
    "400": "The body is not valid JSON.",
    "401": "No valid bearer token.",
    "422": "The input is not valid; `detail` says why in the caller's language.",
}


class DestekAPI(NinjaAPI):
    """Documents the answers every operation can give, so the spec matches what is served."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        for methods in schema["paths"].values():
            for operation in methods.values():
                responses = operation.setdefault("responses", {})
                for status, description in COMMON_ERRORS.items():
                    if status == "401" and not operation.get("security"):
                        continue
                    responses.setdefault(
                        status,
                        {
                            "description": description,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Error"}
                                }
                            },
                        },
                    )
        return schema


api = DestekAPI(
    title="Destek API",
    version="1",
    description="Tickets, messages and events. Authenticate with `POST /auth/token`, then "
    "send `Authorization: Bearer <token>`. `Accept-Language` picks the language of messages.",
    auth=BearerAuth(),
    urls_namespace="api",
)
api.add_router("/auth", accounts_router)
api.add_router("/", tickets_router)
api.add_router("/", time_router)
api.add_router("/", macros_router)
api.add_router("/", people_router)
api.add_router("/", surveys_router)
api.add_router("/", webhooks_router)
api.add_router("/", announcements_router)
# Must come before the chat router: otherwise /chats/{chat_id} takes "availability" as an id.
api.add_router("/", chats_availability_router)
api.add_router("/", chats_router)
api.add_router("/reports", reports_router)
api.add_router("/kb", kb_router)


def error(request: HttpRequest, status: int, code: str, detail: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "code": code, **extra}, status=status)


@api.exception_handler(ActionRefused)
def on_refused(request: HttpRequest, exc: ActionRefused) -> HttpResponse:
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    if exc.status == 429 and isinstance(exc.extra.get("retry_after"), int):
        response["Retry-After"] = str(exc.extra["retry_after"])
    return response


@api.exception_handler(ObjectDoesNotExist)
@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error(request, 404, "not_found", _("Not found."))


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
    response = error(
        request, 401, "unauthenticated", _("Sign in first: send a valid bearer token.")
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(RequestDataTooBig)
def on_too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error(request, 413, "request_too_large", _("The request is too large."))


@api.exception_handler(DataError)
def on_data_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # PostgreSQL refuses some text SQLite takes (a NUL character): bad input, not a crash.
    return error(
        request,
        422,
        "invalid_characters",
        _("The request contains characters that cannot be stored."),
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        return error(request, 400, "invalid_json", _("The request body is not valid JSON."))
    return error(request, exc.status_code, "http_error", str(exc))


def _field(loc: Any) -> str:
    """`("body", "payload", "subject")` -> "subject": drop where it came from, keep the name
    (a field may itself be called "body")."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "form", "file", "header", "cookie"):
        parts = parts[1:]
    if parts and parts[0] == "payload":
        parts = parts[1:]
    return ".".join(parts) or _("request")


def _message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return _("this field is required")
    if kind == "extra_forbidden":
        return _("this field is not accepted")
    if kind in ("literal_error", "enum"):
        return _("must be one of: {values}").format(values=ctx.get("expected", ""))
    if kind == "string_too_long":
        return _("at most {n} characters").format(n=ctx.get("max_length", ""))
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("must be a whole number")
    if kind in ("bool_parsing", "bool_type"):
        return _("must be true or false")
    if kind.startswith("string") or kind == "str_type":
        return _("must be text")
    if kind in ("value_error", "email_type") or "email" in str(err.get("msg", "")).lower():
        return _("is not valid")
    return _("is not valid")


@api.exception_handler(ValidationError)
def on_invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"field": _field(e.get("loc", ())), "message": _message(e), "type": e.get("type", "")}
        for e in exc.errors
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or _("Invalid input.")
    # Keep the payload JSON-safe: pydantic's contexts can hold exceptions.
    errors = json.loads(json.dumps(errors, default=str))
    return error(request, 422, "invalid", detail, errors=errors)
