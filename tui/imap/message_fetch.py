"""The worker's answers to the requests that read one message (a mixin of ImapWorker).

- FetchMessage: MessageFetched with the whole message when it is small; for a big one,
  MessageFetched with its outline and header, then PartFetched with the first range of
  its text (if it has one), under the same request id.
- FetchPart: PartFetched.
- SavePart: PartSaved once the file is complete; on any failure no file is left.
Failures are one RequestFailed. No Textual here.
"""

from __future__ import annotations

import logging
from pathlib import Path

from imapclient import IMAPClient
from imapclient.exceptions import ProtocolError

from . import commands, parts
from .contract import (
    FetchMessage,
    FetchPart,
    MessageFetched,
    MessageOutline,
    PartFetched,
    PartSaved,
    Result,
    SavePart,
)
from .structure import choose_body, content_section

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 20 * 1024 * 1024  # whole-message fetches stop here: only when the outline fails


class MessageFetching:
    """Needs from the worker: _client, _selection, _post, flags_now."""

    _client: IMAPClient

    def _post(self, result: Result) -> None: ...

    def flags_now(self, flags: dict[int, frozenset[str]]) -> None: ...

    def _check_open(self, ref) -> None:
        sel = self._selection  # type: ignore[attr-defined]
        if sel is None or sel.raw_name != ref.mailbox or sel.uidvalidity != ref.uidvalidity:
            raise ValueError("that message belongs to a mailbox that is no longer open")

    def _fetch_message(self, request: FetchMessage) -> None:
        ref = request.ref
        self._check_open(ref)
        outline = header = None
        if request.size is None or request.size > parts.WHOLE_MESSAGE_BYTES:
            outline, header = self._outline(ref.uid)
        if outline is not None and outline.size > parts.WHOLE_MESSAGE_BYTES:
            flags = self._mark_seen(request)
            self._post(MessageFetched(request.id, ref, header or b"", False, flags, outline=outline))
            body = choose_body(outline.root)
            if body is not None:
                section = content_section(outline.root, body)
                data = parts.fetch_range(self._client, ref.uid, section, 0, parts.TEXT_CHUNK)
                self._post(PartFetched(request.id, ref, section, 0, data))
            return
        raw, truncated = commands.fetch_message(self._client, ref.uid, MAX_MESSAGE_BYTES)
        flags = self._mark_seen(request)
        self._post(MessageFetched(request.id, ref, raw, truncated, flags))

    def _outline(self, uid: int) -> tuple[MessageOutline | None, bytes | None]:
        try:
            return parts.fetch_outline(self._client, uid)
        except (ProtocolError, RecursionError, ValueError, IndexError, TypeError) as error:
            # A BODYSTRUCTURE nobody can read (nested past any sense, malformed): the
            # message is still shown, fetched whole up to the cap.
            log.warning("outline of UID %s unreadable: %s", uid, error)
            return None, None

    def _mark_seen(self, request: FetchMessage) -> frozenset[str] | None:
        if not request.mark_seen:
            return None
        flags = commands.mark_seen(self._client, request.ref.uid)
        self.flags_now({request.ref.uid: flags})
        return flags

    def _fetch_part(self, request: FetchPart) -> None:
        self._check_open(request.ref)
        data = parts.fetch_range(self._client, request.ref.uid, request.section, request.offset, request.length)
        self._post(PartFetched(request.id, request.ref, request.section, request.offset, data))

    def _save_part(self, request: SavePart) -> None:
        self._check_open(request.ref)
        target = Path(request.target)
        size, note = parts.save_part(self._client, request.ref.uid, request.section, request.encoding, target)
        self._post(PartSaved(request.id, request.ref, str(target), size, note))
