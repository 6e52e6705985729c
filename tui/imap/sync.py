"""Opening a mailbox against the header cache: what the cache still holds, what changed.

SELECT (with QRESYNC when the cache has a HIGHESTMODSEQ and the server can), then every
UID (one lean search), then the flags that changed since the cache was last right:
QRESYNC's own answers, else `CHANGEDSINCE` with CONDSTORE. Without either, the worker
shows the cached rows first and corrects them from every message's flags afterwards.
What the cache holds is not listed here (100,000 UIDs would hold up the first screen):
the worker streams the cached rows, holds back those the server no longer lists (and
then drops them from the cache), and fetches the UIDs no cached row came for.

The cache's HIGHESTMODSEQ is set here, once the changes since the last one are in the
cache, and never advanced during the session: a change the session misses is then
reported again at the next open, never lost.

Pure module (no Textual); runs on the account's worker thread.
"""

from __future__ import annotations

import logging
import re
import weakref
from dataclasses import dataclass, replace

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from ..cache import HeaderCache
from ..models import SelectedMailbox
from . import commands, lean_fetch
from .commands import Untagged, run_command

log = logging.getLogger(__name__)

_qresync_enabled: "weakref.WeakSet[IMAPClient]" = weakref.WeakSet()
_FLAG = re.compile(r"[^\s()]+")


@dataclass(frozen=True)
class Opened:
    selected: SelectedMailbox  # uids: every UID on the server, ascending
    cached_count: int  # rows the cache held for this mailbox; 0: none (the caller reads them)
    # "qresync" or "condstore": the cache's flags are right already. "flags": the server
    # cannot say what changed (no CONDSTORE), so the caller shows the cached rows first
    # and then compares them with every message's flags (all_flags). "cold": no cache.
    how: str


def has(client: IMAPClient, capability: bytes) -> bool:
    return capability in client.capabilities()


def enable_qresync(client: IMAPClient) -> bool:
    """ENABLE QRESYNC once per connection. From then on the server says VANISHED, not EXPUNGE."""
    if client in _qresync_enabled:
        return True
    if not has(client, b"QRESYNC"):
        return False
    reply = run_command(client, "ENABLE", b"QRESYNC")
    if reply.status == "OK":
        _qresync_enabled.add(client)
        return True
    return False


def open_mailbox(client: IMAPClient, cache: HeaderCache, account: str, raw_name: bytes, read_only: bool) -> Opened:
    """SELECT (or EXAMINE) `raw_name` and bring the cache up to date with it (see the module doc)."""
    state = cache.state(account, raw_name)
    qresync = cache.enabled and enable_qresync(client)
    resync = (state.uidvalidity, state.highestmodseq) if qresync and state and state.highestmodseq else None
    selected, events = select(client, raw_name, read_only, resync=resync,
                              condstore=cache.enabled and has(client, b"CONDSTORE"))
    uids = lean_fetch.all_uids(client) if selected.exists else []
    selected = replace(selected, uids=tuple(uids), unseen=commands.count_unseen(client) if uids else 0)
    if not selected.uidvalidity:  # nothing to tell one incarnation of the mailbox from another
        return Opened(selected, 0, "cold")
    known = cache.start(account, raw_name, selected.uidvalidity)
    if known is None or not known.count:
        _remember_modseq(cache, account, selected)
        return Opened(selected, 0, "cold")
    modseq = known.highestmodseq
    if any(e.kind == "UNPARSED" for e in events):  # a change we could not read: do not vouch for it later
        selected = replace(selected, highestmodseq=None)
    if resync is not None and modseq and selected.highestmodseq:
        changed = {e.uid: e.flags for e in events if e.kind == "FETCH" and e.uid is not None and e.flags is not None}
        how = "qresync"
    elif modseq and selected.highestmodseq and has(client, b"CONDSTORE"):
        changed = lean_fetch.all_flags(client, changed_since=modseq) if modseq < selected.highestmodseq else {}
        how = "condstore"
    else:
        return Opened(selected, known.count, "flags")
    cache.set_flags(account, raw_name, selected.uidvalidity, changed.items())  # (the cache skips UIDs it lacks)
    _remember_modseq(cache, account, selected)
    log.info("opened %r from the cache (%s): %d cached, %d flag changes", raw_name, how, known.count, len(changed))
    return Opened(selected, known.count, how)



def _remember_modseq(cache: HeaderCache, account: str, selected: SelectedMailbox) -> None:
    cache.set_modseq(account, selected.raw_name, selected.uidvalidity, selected.highestmodseq)


def select(client: IMAPClient, raw_name: bytes, read_only: bool, *, resync: tuple[int, int] | None = None,
           condstore: bool = False) -> tuple[SelectedMailbox, list[Untagged]]:
    """SELECT or EXAMINE, its answers read in order. `uids` and `unseen` are left empty.

    With `resync` (uidvalidity, modseq) the QRESYNC parameter asks for what changed since;
    with `condstore`, (CONDSTORE) makes the server report HIGHESTMODSEQ.
    """
    command = "EXAMINE" if read_only else "SELECT"
    args = [commands.quote_mailbox(raw_name)]
    if resync is not None:
        args.append(b"(QRESYNC (%d %d))" % resync)
    elif condstore:
        args.append(b"(CONDSTORE)")
    client._imap.state = "AUTH"  # until this SELECT succeeds, no mailbox is selected
    reply = run_command(client, command, *args)
    if reply.status != "OK":
        raise IMAPClientError(f"cannot open {commands.decode_mailbox_name(raw_name)}: {reply.sentence()}")
    client._imap.state = "SELECTED"
    # What came before was about another mailbox; what comes after (during the searches
    # that follow) is about this one, and must reach the change tracking.
    commands.reset_journal(client)
    codes = reply.codes()
    exists = recent = 0
    flags: frozenset[str] = frozenset()
    for event in reply.untagged:
        if event.kind == "EXISTS":
            exists = event.number or 0
        elif event.kind == "RECENT":
            recent = event.number or 0
        elif event.kind == "FLAGS":
            flags = frozenset(_FLAG.findall(event.text))
    permanent = frozenset(_FLAG.findall(codes.get("PERMANENTFLAGS", b"").decode("ascii", "replace")))
    server_read_only = "READ-ONLY" in codes
    return SelectedMailbox(
        raw_name=raw_name,
        uidvalidity=_number(codes.get("UIDVALIDITY"), 32) or 0,
        exists=exists,
        read_only=read_only or server_read_only,
        uids=(),
        unseen=0,
        permanent_flags=permanent,
        flags=flags,
        recent=recent,
        uidnext=_number(codes.get("UIDNEXT"), 32),
        highestmodseq=None if "NOMODSEQ" in codes else _number(codes.get("HIGHESTMODSEQ"), 63),
    ), reply.untagged


def _number(data: bytes | None, bits: int) -> int | None:
    """A number from a response code; None when missing or beyond what RFC 9051 allows."""
    if not data:
        return None
    text = data.strip()
    value = int(text) if text.isdigit() and len(text) <= 20 else None
    return value if value is not None and value < 2**bits else None
