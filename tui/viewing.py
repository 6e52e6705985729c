"""The message viewer's side of the app: opening a message, its parts, saving them.

A mixin for MailApp. A small message comes whole and its parts are saved from memory;
a big one comes as an outline, its text by ranges, and a saved part streams from the
server straight into the file (the IMAP worker writes it), so neither the UI nor
memory ever holds a 50 MB attachment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from textual import work

from . import mime
from .dialogs import PromptScreen
from .filenames import free_path, safe_filename
from .imap.contract import FetchMessage, FetchPart, FetchStatus, MessageFetched, PartFetched, PartSaved, SavePart
from .imap.structure import content_section
from .models import MessageRef, MimePart
from .new_file import NewFile
from .safe_text import safe_line
from .viewer_prefs import ViewerPrefs
from .timefmt import human_size
from .widgets.message_list import MessageList
from .widgets.message_view import BodyView, MessageView

if TYPE_CHECKING:
    from .account_session import AccountSession


def downloads_dir() -> Path:
    """Where saved parts go first: the XDG download dir, else home (as Thunderbird does)."""
    folder = platformdirs.user_downloads_path()
    return folder if folder.is_dir() else Path.home()


class ViewerMixin:
    """Needs from the app: session, selected, query_one, notify, push_screen,
    refresh_bindings, _refuse_when_disconnected."""

    _message_request: int | None
    _part_requests: dict[int, tuple[MessageRef, str]]  # FetchPart id -> its message and section
    _saves: dict[int, str]  # SavePart id -> the name the user knows it by

    def _init_viewer(self, prefs_path: Path | None) -> None:
        self.viewer_prefs = ViewerPrefs(prefs_path)
        self._message_request = None
        self._part_requests = {}
        self._saves = {}

    # -- opening and closing ---------------------------------------------------

    def on_message_list_opened(self, event: MessageList.Opened) -> None:
        self.open_message(event.uid)

    def open_message(self, uid: int) -> None:
        if self.selected is None or self._refuse_when_disconnected(self.session):
            return
        ref = MessageRef(self.selected.raw_name, self.selected.uidvalidity, uid)
        envelope = self.query_one(MessageList).envelopes.get(uid)
        mark_seen = not self.selected.read_only and not (envelope and envelope.seen)
        viewer = self.query_one(MessageView)
        viewer.display = True
        viewer.prefer_html = self.viewer_prefs.prefer_html(self.session.name)
        self.refresh_bindings()
        viewer.show_loading(ref)
        size = envelope.size if envelope is not None and envelope.size > 0 else None
        request = self.session.submit(FetchMessage(ref, mark_seen=mark_seen, size=size))
        self._message_request = request.id if request else None
        self.query_one(BodyView).focus()

    def on_message_view_alternative_flipped(self, event: MessageView.AlternativeFlipped) -> None:
        self.viewer_prefs.remember_prefer_html(self.session.name, event.prefer_html)

    # -- [ and ]: through one thread ------------------------------------------------

    def on_message_view_thread_step_wanted(self, event: MessageView.ThreadStepWanted) -> None:
        selected = self.selected
        if selected is None or (event.ref.mailbox, event.ref.uidvalidity) != (selected.raw_name, selected.uidvalidity):
            return
        self.query_one(MessageList).step_in_thread(event.ref.uid, event.step)

    def on_message_list_thread_stepped(self, event: MessageList.ThreadStepped) -> None:
        viewer = self.query_one(MessageView)
        if not viewer.display or viewer.ref is None or viewer.ref.uid != event.origin:
            return  # closed, or moved to another message, while the threads were worked out
        if event.view != self.query_one(MessageList).view:
            return  # another mailbox (or the same one opened again) is shown now
        if event.uid is None:
            where = "first" if event.step < 0 else "last"
            self.notify(f"This is the {where} message of its thread.", timeout=3)
            return
        self.query_one(MessageList).move_to(event.uid)
        self.open_message(event.uid)

    def close_viewer(self) -> None:
        viewer = self.query_one(MessageView)
        if viewer.display:
            viewer.display = False
            viewer.ref = None
            self.refresh_bindings()
            self.query_one(MessageList).focus()

    # -- answers ---------------------------------------------------------------

    def _handle_message(self, session: AccountSession, result: MessageFetched) -> None:
        selected = self.selected
        same_mailbox = (
            session is self.session
            and selected is not None
            and (result.ref.mailbox, result.ref.uidvalidity) == (selected.raw_name, selected.uidvalidity)
        )
        if result.flags is not None:
            # \Seen was set even if the user has moved on: the list and counts must show it.
            if same_mailbox:
                self.query_one(MessageList).update_flags(result.ref.uid, result.flags)
            session.submit(FetchStatus(result.ref.mailbox))
        if result.request_id == self._message_request:
            self.query_one(MessageView).show_message(result.ref, result.raw, result.truncated, result.outline)

    def _handle_part(self, session: AccountSession, result: PartFetched) -> None:
        self._part_requests.pop(result.request_id, None)
        if session is self.session:
            self.query_one(MessageView).show_range(result.ref, result.section, result.offset, result.data)

    def _handle_saved(self, session: AccountSession, result: PartSaved) -> None:
        if self._handle_opened_part(session, result):
            return
        self._saves.pop(result.request_id, None)
        self._said_saved(Path(result.target), result.size, result.note)

    def _viewer_failed(self, request_id: int, text: str) -> bool:
        """A failure of a request of ours: said where the user looks. False if not ours."""
        if request_id == self._message_request:
            self.query_one(MessageView).message_failed(f"Cannot show this message: {text}")
            return True
        if request_id in self._part_requests:
            ref, section = self._part_requests.pop(request_id)
            self.query_one(MessageView).range_failed(ref, section, text)
            return True
        if self._opening_failed(request_id, text):
            return True
        if request_id in self._saves:
            name = self._saves.pop(request_id)
            self._said_not_saved(name, text)
            return True
        return False

    def on_message_view_part_wanted(self, event: MessageView.PartWanted) -> None:
        request = self.session.submit(FetchPart(event.ref, event.section, event.offset, event.length))
        if request is None:
            self.query_one(MessageView).range_failed(event.ref, event.section, "not connected")
        else:
            self._part_requests[request.id] = (event.ref, event.section)

    # -- saving ----------------------------------------------------------------

    def on_message_view_save_wanted(self, event: MessageView.SaveWanted) -> None:
        viewer = self.query_one(MessageView)
        part = event.part
        if part is not None and part.children and not part.content_type.startswith("message/"):
            self.notify("Pick one part to save (or the message itself at the top).", markup=False)
            return
        if part is None:
            subject = viewer.parsed.subject if viewer.parsed is not None else ""
            name = safe_filename((subject[:80] or "message") + ".eml", "message/rfc822", "message")
            size = viewer.outline.size if viewer.outline is not None else len(viewer.raw)
        else:
            name = safe_filename(part.filename, part.content_type, f"part-{part.path or '1'}")
            size = part.size
        suggestion = free_path(downloads_dir(), name)
        what = safe_line(name, 60)
        shown = viewer.raw  # the message, or the attached one opened inside it: the same ref

        def chosen(answer: str | None) -> None:
            if answer:
                self._save_to(event.ref, shown, part, Path(answer).expanduser(), name)

        self.push_screen(
            PromptScreen(
                f"Save {what} ({human_size(size)}) as:",
                value=str(suggestion),
                hint="Tab completes a path. A folder saves it there under this name. An existing file is never replaced.",
                complete_paths=True,
            ),
            chosen,
        )

    def _save_to(self, ref: MessageRef, shown: bytes, part: MimePart | None, target: Path, name: str) -> None:
        if target.is_dir():
            target = free_path(target, name)
        if os.path.lexists(target):
            self.notify(f"{safe_line(str(target))} exists already: nothing was saved. Choose another name.",
                        severity="error", markup=False)
            return
        if not target.parent.is_dir():
            self.notify(f"There is no folder {safe_line(str(target.parent))}: nothing was saved.",
                        severity="error", markup=False)
            return
        viewer = self.query_one(MessageView)
        if viewer.ref != ref or viewer.raw is not shown:
            self._said_not_saved(target.name, "another message is open now")
            return
        if viewer.outline is None and part is not None and viewer.nested and not viewer.truncated:
            # Inside an attached message the server's section numbers are the outer
            # message's: its parts, attached messages too, come from the bytes shown.
            self._write_file(target, viewer.raw, part.path)
            return
        if viewer.outline is None and part is not None and not part.children:
            if viewer.truncated:  # its transfer encoding is not known here
                self._said_not_saved(target.name, "this message was cut off at 20 MB; its parts cannot be saved")
                return
            self._write_file(target, viewer.raw, part.path)
            return
        if viewer.outline is None and part is None and not viewer.truncated:
            self._write_file(target, viewer.raw, None)
            return
        self._save_from_server(ref, part, target)

    def _save_from_server(self, ref: MessageRef, part: MimePart | None, target: Path) -> None:
        viewer = self.query_one(MessageView)
        if part is None:
            section, encoding = "", ""
        elif viewer.outline is not None:
            section, encoding = content_section(viewer.outline.root, part), part.encoding
        else:
            section, encoding = part.path, ""  # an attached message: its bytes as they are
        request = self.session.submit(SavePart(ref, section, encoding, str(target)))
        if request is None:
            self._said_not_saved(target.name, "not connected")
            return
        self._saves[request.id] = target.name
        self.notify(f"Saving {safe_line(target.name, 60)}…", markup=False, timeout=3)

    @work(thread=True, group="save", exit_on_error=False)
    def _write_file(self, target: Path, raw: bytes, path: str | None) -> None:
        """The whole message (path None) or one part of it, from memory. In a thread: the
        parse, and a slow or network file system, must not stall the screen."""
        data = raw if path is None else mime.part_payload(raw, path)
        if data is None:
            self.call_from_thread(self._said_not_saved, target.name, "this part has no content to save")
            return
        try:
            with NewFile(target) as out:
                out.write(data)
                out.commit()
        except Exception as error:  # a NUL in a typed path is a ValueError
            if isinstance(error, FileExistsError):
                reason = "it exists already"
            else:
                reason = getattr(error, "strerror", None) or str(error)
            self.call_from_thread(self._said_not_saved, target.name, reason)
            return
        self.call_from_thread(self._said_saved, target, len(data))

    def _said_saved(self, target: Path, size: int, note: str = "") -> None:
        text = f"Saved {safe_line(str(target), 200)} ({human_size(size)})."
        if note:
            text += f" Note: {safe_line(note, 200)}"
        self.notify(text, markup=False, severity="warning" if note else "information")

    def _said_not_saved(self, name: str, reason: str) -> None:
        self.notify(f"{safe_line(name, 60)} was not saved: {safe_line(reason, 200)}", severity="error",
                    markup=False, timeout=10)
