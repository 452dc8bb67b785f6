"""Body regions: a fixed list, both sides by default, 'none' for a paresthesia-free program."""

from __future__ import annotations

import pytest

from scsctl.errors import UsageError
from scsctl.trial import BODY_REGIONS, format_regions, overlap, parse_regions


def test_a_region_without_a_side_means_both_sides_in_head_to_foot_order() -> None:
    assert parse_regions("foot-left, low-back") == ("low-back-left", "low-back-right", "foot-left")
    assert parse_regions(["THIGH-right", "neck"]) == ("neck", "thigh-right")


def test_none_is_an_empty_map_and_cannot_be_mixed_with_regions() -> None:
    assert parse_regions("none") == ()
    with pytest.raises(UsageError, match="'none' cannot be combined"):
        parse_regions("none, foot-left")


def test_an_unknown_region_is_named_with_the_closest_known_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown body region 'lowback'; did you mean low-back"):
        parse_regions("lowback")
    with pytest.raises(UsageError, match="none given"):
        parse_regions(" , ")


def test_every_region_is_unique_and_sided_ones_come_in_pairs() -> None:
    assert len(set(BODY_REGIONS)) == len(BODY_REGIONS)
    for name in BODY_REGIONS:
        if name.endswith("-left"):
            assert name.removesuffix("-left") + "-right" in BODY_REGIONS


def test_overlap_says_what_is_reached_missed_and_felt_outside_the_pain() -> None:
    pain = parse_regions("low-back, foot-left")
    ov = overlap(parse_regions("low-back-left, buttock-left"), pain)
    assert ov.covered == ("low-back-left",)
    assert ov.missed == ("low-back-right", "foot-left")
    assert ov.outside == ("buttock-left",)
    assert ov.covered_pct == 33  # 1 of 3, rounded down
    assert ov.describe() == (
        "1 of 3 pain regions (33 %); not reached: low-back-right, foot-left; "
        "also felt outside the pain area: buttock-left"
    )
    full = overlap(parse_regions("low-back, foot-left, foot-right"), pain)
    assert full.covered_pct == 100
    assert full.overlaps
    assert overlap((), pain).covered_pct == 0
    assert overlap(parse_regions("neck"), ()).covered_pct is None


def test_regions_are_written_for_people_with_both_sides_once() -> None:
    assert format_regions(parse_regions("low-back, foot-left")) == "low-back (both sides), foot-left"
    assert format_regions(()) == "none"
