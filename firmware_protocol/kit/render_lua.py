"""Placeholder, replaced below."""

from __future__ import annotations

from .model import WireModel


def render_lua(m: WireModel) -> str:
    return "-- TODO\n"
