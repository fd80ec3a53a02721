"""The demo merchants and their terminals, planned from a fixed seed: the same shops, numbers and
serials on every run. Pure: no database. A plan of N merchants is the first N of a larger plan."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from posdesk.demo import catalogue as cat

SHOWCASE_NAME = "好邻居便利店（文三路店）"


@dataclass(frozen=True)
class ContactPlan:
    name: str
    mobile: str
    email: str
    wechat_openid: str
    is_primary: bool
    portal_user: bool  # has signed in to the portal before


@dataclass(frozen=True)
class MerchantPlan:
    mid: str
    name: str
    tier: str
    status: str
    district_code: str
    address: str
    latitude: Decimal
    longitude: Decimal
    contacts: tuple[ContactPlan, ...]
    weight: float  # how often the shop reports problems, relative to others


@dataclass(frozen=True)
class TerminalPlan:
    sn: str
    tid: str
    model_code: str
    merchant_mid: str | None  # None: a spare in stock
    firmware: str
    sim_iccid: str
    sim_carrier: str
    install_date: date | None
    warranty_end: date | None
    status: str


class _Numbers:
    """Unique mobiles and TIDs drawn from one random stream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.mobiles: set[str] = {cat.SHOWCASE_MOBILE}
        self.tids: set[str] = set()

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(cat.MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.mobiles:
                self.mobiles.add(number)
                return number

    def tid(self) -> str:
        while True:
            number = f"{self.rng.randrange(20_000_000, 99_999_999)}"
            if number not in self.tids:
                self.tids.add(number)
                return number


def _person(rng: random.Random) -> str:
    return rng.choice(cat.SURNAMES) + rng.choice(cat.GIVEN_NAMES)


def _openid(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + "-_"
    return "o" + "".join(rng.choice(alphabet) for _ in range(27))


def plan_merchants(count: int, *, seed: str) -> list[MerchantPlan]:
    rng = random.Random(f"{seed}:merchants")
    numbers = _Numbers(random.Random(f"{seed}:numbers"))
    districts = list(cat.DISTRICT_WEIGHTS)
    district_weights = [cat.DISTRICT_WEIGHTS[d][0] for d in districts]
    kinds = cat.SHOP_KINDS
    used_names: set[str] = set()
    plans = []
    for index in range(count):
        showcase = index == 0
        district = "xihu" if showcase else rng.choices(districts, weights=district_weights)[0]
        road = "文三路" if showcase else rng.choice(cat.ROADS[district])
        kind = kinds[0] if showcase else rng.choices(kinds, weights=[k.share for k in kinds])[0]
        name = SHOWCASE_NAME if showcase else _shop_name(rng, kind.suffix, road, used_names)
        used_names.add(name)
        tier = "key" if showcase else rng.choices(["key", "standard", "small"], weights=[8, 52, 40])[0]
        status = "active" if showcase or rng.random() > 0.015 else "suspended"
        number = rng.randint(1, 999)
        address = f"杭州市{_district_name(district)}{road}{number}号" + (
            f"{rng.randint(1, 3)}楼" if rng.random() < 0.15 else ""
        )
        centre_lat, centre_lng = _district_centre(district)
        spread = cat.DISTRICT_WEIGHTS[district][1]
        latitude = Decimal(str(round(centre_lat + rng.gauss(0, spread), 6)))
        longitude = Decimal(str(round(centre_lng + rng.gauss(0, spread * 1.2), 6)))
        owner = "张伟" if showcase else _person(rng)
        contacts = [ContactPlan(
            name=owner,
            mobile=cat.SHOWCASE_MOBILE if showcase else numbers.mobile(),
            email=f"{rng.randrange(10**8, 10**10)}@{rng.choice(cat.EMAIL_DOMAINS)}" if rng.random() < 0.2 else "",
            wechat_openid=_openid(rng) if rng.random() < 0.3 else "",
            is_primary=True,
            portal_user=showcase or rng.random() < 0.35,
        )]
        if rng.random() < 0.35:
            contacts.append(ContactPlan(
                name=f"{_person(rng)}（{rng.choice(cat.CONTACT_TITLES)}）", mobile=numbers.mobile(), email="",
                wechat_openid=_openid(rng) if rng.random() < 0.2 else "", is_primary=False, portal_user=False,
            ))
        plans.append(MerchantPlan(
            mid=f"8983301{kind.mcc}{index + 1:04d}", name=name, tier=tier, status=status, district_code=district,
            address=address, latitude=latitude, longitude=longitude, contacts=tuple(contacts),
            weight=4.0 if showcase else {"key": 2.5, "standard": 1.2, "small": 0.8}[tier],
        ))
    return plans


def _shop_name(rng: random.Random, suffix: str, road: str, used: set[str]) -> str:
    for _attempt in range(20):
        name = rng.choice(cat.SHOP_PREFIXES) + suffix
        if rng.random() < 0.45:
            name += f"（{road}店）"
        if name not in used:
            return name
    return f"{rng.choice(cat.SHOP_PREFIXES)}{suffix}（{road}{rng.randint(2, 9)}号店）"


def _district_name(code: str) -> str:
    from posdesk.merchants.districts import HANGZHOU_DISTRICTS

    return next(row[1] for row in HANGZHOU_DISTRICTS if row[0] == code)


def _district_centre(code: str) -> tuple[float, float]:
    from posdesk.merchants.districts import HANGZHOU_DISTRICTS

    row = next(row for row in HANGZHOU_DISTRICTS if row[0] == code)
    return float(row[3]), float(row[4])


def plan_terminals(merchants: list[MerchantPlan], count: int, *, seed: str, today: date) -> list[TerminalPlan]:
    """`count` terminals: every merchant gets one, busy shops more, and a few spares stay in stock."""
    rng = random.Random(f"{seed}:terminals")
    numbers = _Numbers(random.Random(f"{seed}:tids"))
    models = cat.TERMINAL_MODELS
    model_weights = [m.share for m in models]
    spares = count // 30
    owners: list[MerchantPlan | None] = []
    if merchants:
        owners.extend(merchants[: count - spares])
        extra_slots = count - spares - len(owners)
        weights = [m.weight for m in merchants]
        owners.extend(rng.choices(merchants, weights=weights, k=max(extra_slots, 0)))
    owners.extend([None] * (count - len(owners)))
    showcase_models = ["newland-me31", "pax-a920", "newland-fr40"]
    plans = []
    serials: dict[str, int] = {}
    showcase_seen = 0
    for owner in owners:
        if owner is not None and owner is merchants[0] and showcase_seen < len(showcase_models):
            model = next(m for m in models if m.code == showcase_models[showcase_seen])
            showcase_seen += 1
        else:
            model = rng.choices(models, weights=model_weights)[0]
        serials[model.code] = serials.get(model.code, 0) + 1
        sn = f"{model.sn_prefix}{rng.randint(20, 25)}{serials[model.code]:06d}"
        carrier, _share, iccid_prefix = rng.choices(cat.SIM_CARRIERS, weights=[c[1] for c in cat.SIM_CARRIERS])[0]
        installed = today - timedelta(days=rng.randint(20, 4 * 365)) if owner else None
        roll = rng.random()
        status = "in_stock" if owner is None else ("faulty" if roll < 0.02 else "in_repair" if roll < 0.03 else "active")
        plans.append(TerminalPlan(
            sn=sn, tid=numbers.tid(), model_code=model.code, merchant_mid=owner.mid if owner else None,
            firmware=rng.choice(model.firmwares),
            sim_iccid=iccid_prefix + f"{rng.randrange(10**14):014d}" if model.kind != "qr" or owner else "",
            sim_carrier=carrier,
            install_date=installed,
            warranty_end=installed + timedelta(days=3 * 365) if installed else None,
            status=status,
        ))
    if merchants:  # the showcase shop shows a terminal of each kind
        while showcase_seen < len(showcase_models):
            model = next(m for m in models if m.code == showcase_models[showcase_seen])
            showcase_seen += 1
            serials[model.code] = serials.get(model.code, 0) + 1
            installed = today - timedelta(days=400 + showcase_seen * 90)
            plans.append(TerminalPlan(
                sn=f"{model.sn_prefix}24{serials[model.code]:06d}", tid=numbers.tid(), model_code=model.code,
                merchant_mid=merchants[0].mid, firmware=model.firmwares[-1],
                sim_iccid="898600" + f"{rng.randrange(10**14):014d}", sim_carrier="中国移动", install_date=installed,
                warranty_end=installed + timedelta(days=3 * 365), status="active",
            ))
    return plans
