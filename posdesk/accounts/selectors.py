from __future__ import annotations

from django.db.models import QuerySet

from posdesk.accounts.models import STAFF_ROLES, Organisation, Role, Team, User
from posdesk.core.identifiers import normalise_mobile


def user_find_by_username_or_mobile(ident: str) -> User | None:
    """The user with this username, else the one with this mobile: an exact username always wins,
    so a username that happens to look like someone's mobile cannot pick the wrong account."""
    return User.objects.filter(username=ident).first() or User.objects.filter(mobile=normalise_mobile(ident)).first()


def assignable_users_for(user: User) -> QuerySet[User]:
    """Who `user` may assign work to: the desk assigns to any active staff member, a vendor only
    within its own organisation."""
    staff = User.objects.filter(is_active=True, role__in=[r.value for r in STAFF_ROLES])
    if user.role == Role.VENDOR:
        return staff.filter(organisation_id=user.organisation_id)
    if user.is_desk:
        return staff
    return staff.none()


def team_list() -> QuerySet[Team]:
    return Team.objects.order_by("name")


def vendor_organisation_list() -> QuerySet[Organisation]:
    """Active field-service vendors, for the desk to give field work to."""
    return Organisation.objects.filter(kind=Organisation.Kind.VENDOR, is_active=True).order_by("name")
