"""A small JSON file of the user's choices under the XDG state dir, readable by the user
only. A file that cannot be read or written leaves the choices in memory for this
session: a lost preference is never worth an error. Pure: no Textual."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .private_file import write_private

log = logging.getLogger(__name__)


def load_state(path: Path | None, what: str, max_entries: int) -> dict:
    """The saved dict; {} when there is none, it cannot be read, or it is too big to be ours."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        log.warning("cannot read the %s %s: %s", what, path, error)
        return {}
    if not isinstance(data, dict) or len(data) > max_entries:
        return {}
    return data


def save_state(path: Path | None, what: str, data: dict) -> None:
    if path is None:
        return
    try:
        write_private(path, json.dumps(data))
    except OSError as error:
        log.warning("cannot write the %s %s: %s", what, path, error)
