"""`o` in the viewer: open the picked part with the program mailcap or xdg-open chooses.

A mixin for MailApp. Only on that explicit key press: the part is written to a private
temporary folder (tui.part_opener), then handed to the program. A small message's part
comes from memory; a big one's streams from the server into the file (SavePart), as a
save does. The files stay until the app ends: a viewer started in the background may
still be reading them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import SuspendNotSupported

from . import mime
from .imap.contract import PartSaved, SavePart
from .imap.structure import content_section
from .models import MimePart
from .part_opener import NoProgram, OpenCommand, PartOpener
from .safe_text import safe_line
from .widgets.message_view import MessageView

if TYPE_CHECKING:
    from .account_session import AccountSession


class PartOpeningMixin:
    """Needs from the app: session, query_one, notify, suspend, call_from_thread."""

    _opener: PartOpener | None
    _opens: dict[int, MimePart]  # SavePart id -> the part being fetched to be opened

    def _init_opening(self) -> None:
        self._opener = None
        self._opens = {}

    def _cleanup_opened_files(self) -> None:
        if self._opener is not None:
            self._opener.cleanup()

    def on_message_view_open_wanted(self, event: MessageView.OpenWanted) -> None:
        viewer = self.query_one(MessageView)
        part = event.part
        if viewer.ref != event.ref or viewer.parsed is None:
            return
        if self._opener is None:
            self._opener = PartOpener()
        try:
            target = self._opener.prepare(part.filename, part.content_type)
        except OSError as error:
            self._said_not_opened(part, f"no private folder for it ({error.strerror or error})")
            return
        if viewer.outline is None:
            if viewer.truncated:
                self._said_not_opened(part, "this message was cut off at 20 MB; its parts cannot be opened")
                return
            self._write_and_open(viewer.raw, part, target)
            return
        section = content_section(viewer.outline.root, part)
        request = self.session.submit(SavePart(event.ref, section, part.encoding, str(target)))
        if request is None:
            self._said_not_opened(part, "not connected")
            return
        self._opens[request.id] = part
        self.notify(f"Fetching {safe_line(_name(part), 60)} to open it…", markup=False, timeout=3)

    def _handle_opened_part(self, session: AccountSession, result: PartSaved) -> bool:
        """A part fetched to be opened is in its file: open it. False if not one of ours."""
        part = self._opens.pop(result.request_id, None)
        if part is None:
            return False
        self._find_program(part, Path(result.target))
        return True

    def _opening_failed(self, request_id: int, text: str) -> bool:
        part = self._opens.pop(request_id, None)
        if part is None:
            return False
        self._said_not_opened(part, text)
        return True

    @work(thread=True, group="open", exit_on_error=False)
    def _write_and_open(self, raw: bytes, part: MimePart, target: Path) -> None:
        data = mime.part_payload(raw, part.path)
        if data is None:
            self.call_from_thread(self._said_not_opened, part, "this part has no content")
            return
        try:
            self._opener.write_bytes(target, data)
        except OSError as error:
            self.call_from_thread(self._said_not_opened, part, error.strerror or str(error))
            return
        self._choose_program(part, target)

    @work(thread=True, group="open", exit_on_error=False)
    def _find_program(self, part: MimePart, target: Path) -> None:
        self._choose_program(part, target)

    def _choose_program(self, part: MimePart, target: Path) -> None:
        # In a thread: mailcap test= commands run here, each for up to 2 s.
        params = {"charset": part.charset} if part.charset else {}
        command = self._opener.command_for(part.content_type, target, params)
        self.call_from_thread(self._start_program, part, command)

    def _start_program(self, part: MimePart, command: OpenCommand | NoProgram) -> None:
        if isinstance(command, NoProgram):
            self.notify(safe_line(command.reason, 300), severity="warning", markup=False, timeout=10)
            return
        name = safe_line(_name(part), 60)
        if command.needs_terminal:
            try:
                with self.suspend():
                    code = self._opener.run_in_terminal(command)
            except SuspendNotSupported:
                self._said_not_opened(part, "its program needs the terminal, which cannot be handed over here")
                return
            if code:
                self.notify(f"{safe_line(command.program, 100)} ended with code {code} on {name}.",
                            severity="warning", markup=False)
            return
        try:
            self._opener.launch(command, on_exit=lambda code: self._program_ended(name, command.program, code))
        except OSError as error:
            self._said_not_opened(part, f"{command.program} could not start ({error.strerror or error})")
            return
        self.notify(f"Opening {name} with {safe_line(command.program, 100)}…", markup=False, timeout=4)

    def _program_ended(self, name: str, program: str, code: int) -> None:
        # From the waiting thread; the app may be gone by then.
        if code == 0:
            return
        why = {3: "it knows no program for this type", 4: "the program failed"}.get(code, f"exit code {code}")
        try:
            self.call_from_thread(self.notify, f"{program} could not open {name}: {why}.",
                                  severity="warning", markup=False)
        except RuntimeError:
            pass

    def _said_not_opened(self, part: MimePart, reason: str) -> None:
        self.notify(f"{safe_line(_name(part), 60)} was not opened: {safe_line(reason, 200)}", severity="error",
                    markup=False, timeout=10)


def _name(part: MimePart) -> str:
    return part.filename or part.content_type
