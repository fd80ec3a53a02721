"""The mass-outage detector (C7), pure: no database, so it is tested and benchmarked alone.

Every new ticket is counted under a few *keys* — the dimensions that a real outage shares:

    response code              r=96          a host or issuer answering 96 to everyone
    response code × district   r=96;d=12     the same, in one district (a local network or branch)
    terminal model × firmware  m=3;f=V2.1.7  a bad firmware release
    terminal model             m=3
    category × district        c=network;d=12
    category                   c=network

A key *spikes* when its count in a sliding window (5 and 15 minutes by default) reaches
max(floor, factor × baseline), the baseline being that key's usual rate for the hour of the week.
Of the keys a ticket spikes, the most specific one becomes the incident's scope (KIND_ORDER): 2,000
"返回码96" from one district spike r=96, r=96;d=12, c=transaction;d=12 and c=transaction at once,
and the incident is "96 in that district", not "transactions everywhere".

Counts that an incident already explains are not evidence of another one: a key's *excess* is its
count minus the tickets of that key linked to incidents in the window (the services keep both
counts), so a 96 outage in one district does not make the next 96 elsewhere, or the district's
other transaction problems, look like a new spike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SHANGHAI = timedelta(hours=8)

# dimension letters, in the order they are written in a key
DIMENSIONS = ("r", "m", "f", "c", "d")
DIMENSION_NAMES = {"r": "response_code", "m": "terminal_model", "f": "firmware", "c": "category", "d": "district"}


class Kind:
    RESPONSE_CODE_DISTRICT = "response_code_district"
    RESPONSE_CODE = "response_code"
    FIRMWARE = "firmware"
    CATEGORY_DISTRICT = "category_district"
    TERMINAL_MODEL = "terminal_model"
    CATEGORY = "category"


# most specific first: of the keys one ticket spikes, the first in this order is the scope
KIND_ORDER = (Kind.RESPONSE_CODE_DISTRICT, Kind.RESPONSE_CODE, Kind.FIRMWARE, Kind.CATEGORY_DISTRICT,
              Kind.TERMINAL_MODEL, Kind.CATEGORY)
_KIND_BY_DIMS = {
    frozenset("rd"): Kind.RESPONSE_CODE_DISTRICT, frozenset("r"): Kind.RESPONSE_CODE,
    frozenset("mf"): Kind.FIRMWARE, frozenset("cd"): Kind.CATEGORY_DISTRICT,
    frozenset("m"): Kind.TERMINAL_MODEL, frozenset("c"): Kind.CATEGORY,
}
MAX_KEY_LENGTH = 120


def _clean(value: str) -> str:
    # the separators cannot appear inside a value; firmware strings come from terminal records
    return value.strip().replace(";", ",").replace("=", "-")[:40]


def key_of(dims: Mapping[str, str]) -> str:
    return ";".join(f"{d}={dims[d]}" for d in DIMENSIONS if d in dims)


def dims_of(key: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in key.split(";") if part)


def kind_of(key: str) -> str:
    return _KIND_BY_DIMS[frozenset(dims_of(key))]


def signal_keys(*, category: str, district_id: int | None, terminal_model_id: int | None, firmware: str,
                response_codes: Iterable[str]) -> list[str]:
    """The keys one new ticket counts under (each once)."""
    keys: list[str] = []
    if category:
        keys.append(key_of({"c": category}))
        if district_id is not None:
            keys.append(key_of({"c": category, "d": str(district_id)}))
    if terminal_model_id is not None:
        keys.append(key_of({"m": str(terminal_model_id)}))
        if firmware.strip():
            keys.append(key_of({"m": str(terminal_model_id), "f": _clean(firmware)}))
    for code in dict.fromkeys(c.strip().upper() for c in response_codes if c.strip()):
        keys.append(key_of({"r": _clean(code)}))
        if district_id is not None:
            keys.append(key_of({"r": _clean(code), "d": str(district_id)}))
    return keys


def most_specific(keys: Iterable[str]) -> str | None:
    ranked = sorted(keys, key=lambda k: (KIND_ORDER.index(kind_of(k)), k))
    return ranked[0] if ranked else None


# --- time -------------------------------------------------------------------------------------

def minute_of(at: datetime) -> int:
    """Minutes since the epoch (UTC): the counters' bucket."""
    return int(at.timestamp() // 60)


def hour_of_week(at: datetime) -> int:
    """0 = Monday 00:00–00:59 Asia/Shanghai … 167 = Sunday 23:00."""
    local = at.astimezone(UTC) + SHANGHAI
    return local.weekday() * 24 + local.hour


def hour_of_week_of_hour(epoch_hour: int) -> int:
    return hour_of_week(datetime.fromtimestamp(epoch_hour * 3600, UTC))


# --- the rule ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    minutes: int
    floor: int  # fewer tickets than this in the window is never a spike, whatever the baseline


@dataclass(frozen=True)
class SpikeRule:
    windows: tuple[Window, ...] = (Window(5, 20), Window(15, 40))
    factor: float = 4.0

    @property
    def longest(self) -> int:
        return max(w.minutes for w in self.windows)

    def threshold(self, window: Window, baseline_per_hour: float) -> float:
        return max(float(window.floor), self.factor * baseline_per_hour * window.minutes / 60)


def parse_windows(text: str) -> tuple[Window, ...]:
    """"5:20,15:40" → windows of 5 minutes (floor 20) and 15 minutes (floor 40)."""
    windows = []
    for part in text.split(","):
        if part.strip():
            minutes, floor = part.split(":")
            window = Window(int(minutes), int(floor))
            if window.minutes < 1 or window.floor < 1:
                raise ValueError(f"a window needs minutes ≥ 1 and a floor ≥ 1: {part!r}")
            windows.append(window)
    if not windows:
        raise ValueError("at least one window")
    return tuple(sorted(windows, key=lambda w: w.minutes))


@dataclass(frozen=True)
class Spike:
    key: str
    window_minutes: int
    count: int
    threshold: float
    baseline_per_hour: float


def window_counts(per_minute: Mapping[int, int], *, now_minute: int, minutes: int) -> int:
    return sum(c for m, c in per_minute.items() if now_minute - minutes < m <= now_minute)


def spike_of(key: str, *, per_minute: Mapping[int, int], explained_per_minute: Mapping[int, int],
             now_minute: int, baseline_per_hour: float, rule: SpikeRule) -> Spike | None:
    """The first window in which `key`'s unexplained count reaches its threshold, or None."""
    for window in rule.windows:
        count = (window_counts(per_minute, now_minute=now_minute, minutes=window.minutes)
                 - window_counts(explained_per_minute, now_minute=now_minute, minutes=window.minutes))
        threshold = rule.threshold(window, baseline_per_hour)
        if count >= threshold:
            return Spike(key, window.minutes, count, threshold, baseline_per_hour)
    return None


def candidate_scope(keys: Sequence[str], spikes: Mapping[str, Spike]) -> Spike | None:
    """Of the keys one ticket counts under, the most specific that spikes."""
    best = most_specific(k for k in keys if k in spikes)
    return spikes[best] if best is not None else None
