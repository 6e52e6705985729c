"""Hypothesis settings shared by the property tests.

CI runs each property's default number of examples; `TUI_MAIL_FUZZ_EXAMPLES=N` runs N
of each (see the README's Security section).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

MORE = int(os.environ.get("TUI_MAIL_FUZZ_EXAMPLES", "0") or 0)


def examples(default: int) -> int:
    return MORE or default


def fuzz(default: int, **options):
    # database=None: no .hypothesis/ directory in the work tree; a failure prints its example.
    # too_slow, data_too_large: some examples are whole IMAP sessions or big messages, by design.
    chosen = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
    return settings(max_examples=examples(default), database=None, **{**chosen, **options})
