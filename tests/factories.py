"""factory_boy factories for the core records; tests build their world from these."""

from __future__ import annotations

import factory
from django.utils import timezone

from posdesk.accounts.models import Organisation, Role, Team, User
from posdesk.core.taxonomy import Category, Channel, Priority, Status
from posdesk.merchants.models import District, Merchant, MerchantContact
from posdesk.terminals.models import Terminal, TerminalModel
from posdesk.tickets.models import Ticket


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("code",)

    code = "hz-service"
    name = "杭州易修支付服务有限公司"
    kind = Organisation.Kind.SERVICE_COMPANY


class VendorFactory(OrganisationFactory):
    code = factory.Sequence(lambda n: f"vendor-{n}")
    name = factory.Sequence(lambda n: f"外包服务商{n}")
    kind = Organisation.Kind.VENDOR


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"坐席{n}")
    role = Role.AGENT
    organisation = factory.SubFactory(OrganisationFactory)
    password = factory.PostGenerationMethodCall("set_password", "Passw0rd!posdesk")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("code",)

    organisation = factory.SubFactory(OrganisationFactory)
    code = factory.Sequence(lambda n: f"team-{n}")
    name = factory.Sequence(lambda n: f"一线支持{n}组")


def ensure_districts() -> None:
    """The districts are seeded by a data migration, which a transactional test's flush removes;
    put them back (same codes) so no test depends on the order tests run in."""
    from posdesk.merchants.districts import HANGZHOU_DISTRICTS

    if District.objects.count() < len(HANGZHOU_DISTRICTS):
        for code, name_zh, name_en, lat, lng in HANGZHOU_DISTRICTS:
            District.objects.get_or_create(
                code=code, defaults={"name_zh": name_zh, "name_en": name_en, "center_lat": lat, "center_lng": lng}
            )


def ensure_sla_defaults() -> None:
    """Like the districts: the default calendars, SLA policies and escalation rules come from a data
    migration, so a flush removes them; install them again and drop any cached configuration."""
    from posdesk.slas.defaults import install_defaults
    from posdesk.slas.models import BusinessCalendar, EscalationRule, SlaPolicy
    from posdesk.slas.selectors import sla_config_changed

    if not SlaPolicy.objects.exists():
        install_defaults(BusinessCalendar, SlaPolicy, EscalationRule)
    sla_config_changed()


def ensure_response_codes() -> None:
    """Like the districts: the response-code reference (应答码) comes from a data migration, which a
    transactional test's flush removes; load it again (the migration's own loader)."""
    import importlib

    from django.apps import apps

    from posdesk.knowledge.models import ResponseCode

    if not ResponseCode.objects.exists():
        importlib.import_module("posdesk.knowledge.migrations.0003_load_response_codes").load(apps, None)


def district(code: str = "xihu") -> District:
    ensure_districts()
    return District.objects.get(code=code)


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    mid = factory.Sequence(lambda n: f"898330{n:09d}")
    name = factory.Sequence(lambda n: f"西湖便利店{n}号")
    district = factory.LazyFunction(district)
    address = "杭州市西湖区文三路100号"
    tier = Merchant.Tier.STANDARD


class MerchantContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MerchantContact

    merchant = factory.SubFactory(MerchantFactory)
    name = "张老板"
    mobile = factory.Sequence(lambda n: f"138{n:08d}")
    is_primary = True


class TerminalModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TerminalModel
        django_get_or_create = ("code",)

    code = "newland-me31"
    manufacturer = "新大陆"
    name = "ME31"
    kind = TerminalModel.Kind.TRADITIONAL


class TerminalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Terminal

    sn = factory.Sequence(lambda n: f"N7NL{n:08d}")
    tid = factory.Sequence(lambda n: f"{10000000 + n}")
    merchant = factory.SubFactory(MerchantFactory)
    model = factory.SubFactory(TerminalModelFactory)
    firmware = "V2.3.1"
    status = Terminal.Status.ACTIVE


class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket row as a service would leave it; use services to test behaviour."""

    class Meta:
        model = Ticket

    number = factory.Sequence(lambda n: f"T261101{n:04d}")
    merchant = factory.SubFactory(MerchantFactory)
    terminal = None
    channel = Channel.PORTAL
    category = Category.HARDWARE
    priority = Priority.P2
    status = Status.NEW
    subject = "打印机不出纸"
    description = "打印机不出纸，换了纸也不行"
    district = factory.LazyAttribute(lambda t: t.merchant.district)
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)
