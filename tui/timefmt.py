"""Compact local dates for list rows, against a clock tests can pin."""

from __future__ import annotations

import os
from datetime import datetime


def now() -> datetime:
    """The current local time; TUI_MAIL_NOW (ISO 8601) pins it for snapshots and screenshots."""
    pinned = os.environ.get("TUI_MAIL_NOW")
    if pinned:
        return datetime.fromisoformat(pinned).astimezone()
    return datetime.now().astimezone()


def compact_date(value: datetime | None, today: datetime | None = None) -> str:
    """"09:30" today, "Nov 20" this year, "2024-11-20" before: what mutt and aerc users expect."""
    if value is None:
        return ""
    today = today or now()
    local = value.astimezone(today.tzinfo)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%b %d")
    return local.strftime("%Y-%m-%d")


def full_date(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone().strftime("%a, %d %b %Y %H:%M")


def count_text(n: int) -> str:
    """"1 message", "12 messages": the one spelling of a message count on screen."""
    return "1 message" if n == 1 else f"{n} messages"


def human_size(octets: int) -> str:
    if octets < 1000:
        return f"{octets}B"
    for unit in ("K", "M", "G"):
        octets /= 1024
        if octets < 10:
            return f"{octets:.1f}{unit}"
        if octets < 1000 or unit == "G":
            return f"{octets:.0f}{unit}"
    return f"{octets:.0f}G"
