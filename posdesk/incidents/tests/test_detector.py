"""The detector's pure rules: keys, scopes, windows and the spike threshold."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posdesk.incidents import detector
from posdesk.incidents.detector import Kind, SpikeRule, Window


def keys_96_xihu() -> list[str]:
    return detector.signal_keys(category="transaction", district_id=12, terminal_model_id=3, firmware="V2.1.7",
                                response_codes=("96",))


def test_a_ticket_counts_under_each_dimension_and_the_combinations_that_make_sense() -> None:
    assert set(keys_96_xihu()) == {"c=transaction", "c=transaction;d=12", "m=3", "m=3;f=V2.1.7", "r=96",
                                   "r=96;d=12"}


def test_unknown_district_model_and_codes_leave_their_keys_out() -> None:
    assert detector.signal_keys(category="hardware", district_id=None, terminal_model_id=None, firmware="x",
                                response_codes=()) == ["c=hardware"]


def test_a_response_code_is_counted_once_and_in_capitals() -> None:
    keys = detector.signal_keys(category="", district_id=None, terminal_model_id=None, firmware="",
                                response_codes=("a0", "A0", " "))
    assert keys == ["r=A0"]


def test_separators_in_a_firmware_string_cannot_forge_another_key() -> None:
    keys = detector.signal_keys(category="", district_id=None, terminal_model_id=1, firmware="v1;d=9",
                                response_codes=())
    assert "m=1;f=v1,d-9" in keys and all(set(detector.dims_of(k)) <= {"m", "f"} for k in keys)


def test_the_most_specific_spiking_key_is_the_scope() -> None:
    assert detector.most_specific(["c=transaction", "r=96", "c=transaction;d=12", "r=96;d=12"]) == "r=96;d=12"
    assert detector.most_specific(["m=3", "m=3;f=V2"]) == "m=3;f=V2"
    assert detector.kind_of("r=96;d=12") == Kind.RESPONSE_CODE_DISTRICT


def test_the_floor_holds_while_there_is_no_baseline() -> None:
    rule = SpikeRule(windows=(Window(5, 20),), factor=4)
    assert rule.threshold(rule.windows[0], baseline_per_hour=0) == 20
    assert rule.threshold(rule.windows[0], baseline_per_hour=600) == 4 * 600 * 5 / 60  # 200


def test_a_key_spikes_when_its_window_reaches_the_threshold_and_not_before() -> None:
    rule = SpikeRule(windows=(Window(5, 20), Window(15, 40)), factor=4)
    # given 19 tickets in the last five minutes and 2 more eight minutes ago
    per_minute = {100: 10, 99: 9, 92: 2}
    assert detector.spike_of("r=96", per_minute=per_minute, explained_per_minute={}, now_minute=100,
                             baseline_per_hour=0, rule=rule) is None
    per_minute[100] += 1
    spike = detector.spike_of("r=96", per_minute=per_minute, explained_per_minute={}, now_minute=100,
                              baseline_per_hour=0, rule=rule)
    assert spike is not None and (spike.window_minutes, spike.count) == (5, 20)


def test_the_longer_window_catches_a_slow_build_up() -> None:
    rule = SpikeRule(windows=(Window(5, 20), Window(15, 40)), factor=4)
    per_minute = {m: 3 for m in range(86, 101)}  # 3 a minute: 15 in five minutes, 45 in fifteen
    spike = detector.spike_of("m=3", per_minute=per_minute, explained_per_minute={}, now_minute=100,
                              baseline_per_hour=0, rule=rule)
    assert spike is not None and spike.window_minutes == 15


def test_a_busy_hour_needs_more_than_its_usual_volume() -> None:
    rule = SpikeRule(windows=(Window(5, 20),), factor=4)
    per_minute = {100: 50}
    assert detector.spike_of("c=transaction", per_minute=per_minute, explained_per_minute={}, now_minute=100,
                             baseline_per_hour=300, rule=rule) is None  # usual 25 in five minutes → 100
    assert detector.spike_of("c=transaction", per_minute=per_minute, explained_per_minute={}, now_minute=100,
                             baseline_per_hour=60, rule=rule) is not None  # usual 5 → 20


def test_tickets_an_incident_explains_are_not_evidence_of_another() -> None:
    rule = SpikeRule(windows=(Window(5, 20),), factor=4)
    spike = detector.spike_of("r=96", per_minute={100: 45}, explained_per_minute={100: 40}, now_minute=100,
                              baseline_per_hour=0, rule=rule)
    assert spike is None


def test_windows_are_read_from_the_setting() -> None:
    assert detector.parse_windows("15:40, 5:20") == (Window(5, 20), Window(15, 40))
    with pytest.raises(ValueError):
        detector.parse_windows("5:0")
    with pytest.raises(ValueError):
        detector.parse_windows("")


def test_hour_of_week_is_counted_in_shanghai_from_monday() -> None:
    assert detector.hour_of_week(datetime(2026, 11, 29, 16, 0, tzinfo=UTC)) == 0  # Mon 00:00 Shanghai
    assert detector.hour_of_week(datetime(2026, 12, 6, 15, 30, tzinfo=UTC)) == 167  # Sun 23:30 Shanghai


@given(st.integers(min_value=0, max_value=10_000_000))
def test_hour_of_week_of_an_epoch_hour_agrees_with_the_database_formula(hour: int) -> None:
    # services.detector_baselines_refresh groups by (hour + 80) mod 168 in SQL
    assert detector.hour_of_week_of_hour(hour) == (hour + 80) % 168


@given(st.lists(st.sampled_from(["r", "m", "f", "c", "d"]), min_size=1, unique=True))
def test_a_key_reads_back_as_its_dimensions(dims: list[str]) -> None:
    values = {d: f"v{d}" for d in dims}
    assert detector.dims_of(detector.key_of(values)) == values
