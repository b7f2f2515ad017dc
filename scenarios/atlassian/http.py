"""Requests, responses and the error envelopes of the three APIs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .site import BASE_URL


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    params: dict[str, str] = field(default_factory=dict)  # path parameters
    user: str = ""  # the authenticated account id; "" for the site's own user (in-process tool calls)


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Raised inside handlers to answer with an error response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def jira_error(status: int, *messages: str, errors: dict[str, str] | None = None) -> ApiError:
    """Jira's ErrorCollection: general messages, and field id -> message."""
    return ApiError(Response(status, {"errorMessages": list(messages), "errors": dict(errors or {})}))


CONFLUENCE_CODES = {400: ("INVALID_REQUEST_PARAMETER", "Bad Request"), 404: ("NOT_FOUND", "Not Found"),
                    405: ("METHOD_NOT_ALLOWED", "Method Not Allowed"), 409: ("CONFLICT", "Conflict"),
                    413: ("REQUEST_ENTITY_TOO_LARGE", "Payload Too Large")}


def confluence_error(status: int, detail: str | None) -> ApiError:
    """Confluence v2's envelope, as real responses show it (the v2 spec declares no error schema)."""
    code, title = CONFLUENCE_CODES.get(status, ("ERROR", "Error"))
    return ApiError(Response(status, {"errors": [{"status": status, "code": code, "title": title,
                                                  "detail": detail}]}))


def confluence_v1_error(status: int, message: str) -> ApiError:
    """Confluence v1's envelope."""
    return ApiError(Response(status, {"statusCode": status, "message": message, "data": {
        "authorized": status != 403, "valid": status != 400, "errors": [], "successful": False}}))


def error_for(document: str, status: int, message: str, field_name: str | None = None) -> ApiError:
    """An error in the envelope of the API that `document` describes."""
    if document == "confluence-v2":
        return confluence_error(status, message)
    if document == "confluence-v1":
        return confluence_v1_error(status, message)
    if field_name:
        return jira_error(status, errors={field_name: message})
    return jira_error(status, message)


def document_of(path: str) -> str:
    if path.startswith("/wiki/api/v2"):
        return "confluence-v2"
    if path.startswith("/wiki/"):
        return "confluence-v1"
    return "jira-v3"


def url(path: str) -> str:
    return BASE_URL + path
