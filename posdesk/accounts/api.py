"""API authentication (bearer tokens and, for the pages' own calls, the session) and `me`."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.security import HttpBearer, SessionAuth

from posdesk.accounts.models import User
from posdesk.accounts.services import api_token_authenticate
from posdesk.core.api import ERRORS
from posdesk.core.masking import mask_mobile


class BearerTokenAuth(HttpBearer):
    openapi_description = "`Authorization: Bearer <token>`; `posdesk issue_token <username-or-mobile>` prints one."

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class ActiveSessionAuth(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


api_auth = [BearerTokenAuth(), ActiveSessionAuth()]

router = Router(tags=["me"])


class OrganisationOut(Schema):
    id: int
    code: str
    name: str
    kind: str


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    role: str
    mobile: str
    organisation: OrganisationOut | None
    teams: list[str]


@router.get("/me", response={200: MeOut, **ERRORS}, summary="Who am I",
            description="The signed-in user, role and organisation. The mobile number is masked.")
def me(request: HttpRequest) -> dict:
    user: User = request.auth  # type: ignore[attr-defined]
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": str(user),
        "role": user.role,
        "mobile": mask_mobile(user.mobile),
        "organisation": user.organisation,
        "teams": [team.code for team in user.teams.all()],
    }
