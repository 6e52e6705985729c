"""UIDVALIDITY changes between a key press and its execution, against the real Dovecot.

Another client deletes the open mailbox and creates it again under the same name, with
other messages that take the same UIDs (and a new UIDVALIDITY). Requests naming the old
UIDs with the old UIDVALIDITY (flag, copy, move, expunge) must change nothing in the new
mailbox and send nothing to the target, and each is refused with a sentence saying the
mailbox was replaced; the list then shows the new mailbox. The server is checked through
a second connection. Three orders of events, as Dovecot 2.3 (maildir) plays them:

- stale: the mailbox is replaced within milliseconds, before the worker hears of it.
  Dovecot keeps the session on its old view and does not disconnect it: UID STORE and
  UID COPY get "NO Internal error", but UID MOVE and UID EXPUNGE act on the new messages
  that took those UIDs, and STATUS on the mailbox still gives the old UIDVALIDITY. Its
  only sign is an untagged "* NO Internal error" to every NOOP (mutations.selected_warning).
- dropped: deleted, and Dovecot ends the idling session at its next check ("BYE IMAP
  session state is inconsistent"); created again; the worker reconnects and reopens it.
- reopened: the user opened it again before the queued requests ran.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from harness import WorkerHarness, account_for, make_mailbox, raw_client, server_flags, server_message_ids
from imapclient import IMAPClient
from scripted_server import ScriptedServer, Step
from servers import make_message
from tui.imap import commands, mutations
from tui.imap.contract import (
    ConnectionLost,
    CopyMessages,
    CopyRefused,
    EnvelopesFetched,
    Expunge,
    FlagsChanged,
    MailboxSelected,
    MessagesCopied,
    MessagesExpunged,
    Request,
    RequestFailed,
    Result,
    SelectMailbox,
    StoreFlags,
)

_unique = itertools.count()
ANSWERS = (RequestFailed, CopyRefused, MessagesCopied, MessagesExpunged, FlagsChanged)
REFUSALS = (RequestFailed, CopyRefused)

@dataclass
class Race:
    name: bytes
    target: bytes
    old_validity: int
    new_validity: int
    new_ids: dict[int, bytes]  # the new mailbox as the other client made it
    new_flags: dict[int, frozenset[str]]
    requests: list[Request]
    seen: list[Result]  # everything the worker posted
    ids_after: dict[int, bytes]
    flags_after: dict[int, frozenset[str]]
    target_after: dict[int, bytes]

    def answers(self, request: Request) -> list[Result]:
        return [r for r in self.seen if r.request_id == request.id]


def _create_again(account, password: str, name: bytes) -> None:
    """The new mailbox: three other messages, the third marked deleted (an expunge of
    UID 3 applied to it would remove it)."""
    client = raw_client(account, password)
    try:
        client.create_folder(name)
        for i in range(3):
            client.append(name, make_message(100 + i, subject=f"new {i}"), flags=[b"\\Deleted"] if i == 2 else [])
    finally:
        client.logout()


def _delete(account, password: str, name: bytes) -> None:
    client = raw_client(account, password)
    try:
        client.delete_folder(name)
    finally:
        client.logout()


def _validity(account, password: str, name: bytes) -> int:
    client = raw_client(account, password)
    try:
        return client.folder_status(name, [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    finally:
        client.logout()


def _run(dovecot, case: str) -> Race:
    account = account_for(dovecot, f"race-{case}")
    password = dovecot.password
    name = f"Race{next(_unique)}-{case}".encode()
    target = name + b"-target"
    old_uids = make_mailbox(account, password, name, [make_message(i, subject=f"old {i}") for i in range(3)])
    make_mailbox(account, password, target, [])
    requests: list[Request] = []
    with WorkerHarness(account, password, reconnect_delays=(1.0,), fill_process_min=None) as harness:
        select = harness.worker.submit(SelectMailbox(name))
        old_validity = harness.wait(MailboxSelected, lambda r: r.request_id == select.id).selected.uidvalidity
        harness.wait(EnvelopesFetched, lambda r: r.raw_name == name and r.loaded == r.total)
        _delete(account, password, name)
        if case == "dropped":
            harness.wait(ConnectionLost, timeout=15)  # Dovecot ends the idling session by itself
        _create_again(account, password, name)  # before the worker's reconnect (1 s later)
        if case == "reopened":
            again = harness.worker.submit(SelectMailbox(name))
            harness.wait(MailboxSelected, lambda r: r.request_id == again.id)
        new_ids = server_message_ids(account, password, name)
        new_flags = server_flags(account, password, name)
        assert sorted(new_ids) == old_uids, "the new messages must take the old UIDs"
        new_validity = _validity(account, password, name)
        assert new_validity != old_validity
        # The move and the expunge first: on a stale Dovecot session they are the ones that
        # act on the new messages (a refused STORE makes the worker re-read the flags, and
        # that FETCH can make Dovecot drop the session, which hides what would follow).
        requests = [
            CopyMessages(name, old_validity, (old_uids[1],), target, move=True),
            Expunge(name, old_validity, (old_uids[2],)),
            CopyMessages(name, old_validity, (old_uids[0],), target, move=False),
            StoreFlags(name, old_validity, (old_uids[0],), ("\\Flagged",), True),
        ]
        for request in requests:
            harness.worker.submit(request)
        for request in requests:
            harness.wait(Result, lambda r, request=request: r.request_id == request.id and isinstance(r, ANSWERS))
        harness.settle(0.5)  # what follows the answers (a reopened list, a refusal after a re-read)
    return Race(
        name, target, old_validity, new_validity, new_ids, new_flags, requests, list(harness.seen),
        server_message_ids(account, password, name), server_flags(account, password, name),
        server_message_ids(account, password, target),
    )


@pytest.fixture(scope="module")
def race(request, dovecot) -> Race:
    return _run(dovecot, request.param)


@pytest.mark.parametrize("race", ["stale", "dropped", "reopened"],
                         indirect=True)
def test_nothing_reaches_the_messages_that_took_the_old_uids(race):
    assert race.ids_after == race.new_ids  # none moved or expunged
    assert race.flags_after == race.new_flags  # none flagged; the deleted-marked one still there
    assert "\\Deleted" in race.new_flags[max(race.new_flags)]  # (so an expunge would have removed it)
    assert race.target_after == {}  # nothing copied or moved there
    claimed = [r for r in race.seen if isinstance(r, (MessagesCopied, MessagesExpunged))
               and r.request_id in {q.id for q in race.requests} and getattr(r, "uids", ())]
    assert claimed == []  # and the user is not told it was done


@pytest.mark.parametrize("race", ["stale", "dropped", "reopened"], indirect=True)
def test_each_request_is_refused_saying_the_mailbox_was_replaced(race):
    for request in race.requests:
        refusals = [r for r in race.answers(request) if isinstance(r, REFUSALS)]
        assert len(refusals) == 1, (request, race.answers(request))
        message = refusals[0].message
        assert message.startswith("nothing was changed: ") and race.name.decode() in message, message
        assert "replaced on the server" in message and "deleted and created again" in message, message
    # The list shows the mailbox as it is now: the new UIDVALIDITY, the new messages.
    latest = [r for r in race.seen if isinstance(r, MailboxSelected)][-1]
    assert latest.selected.uidvalidity == race.new_validity
    assert list(latest.selected.uids) == sorted(race.new_ids)


# -- the sign a stale session gives -----------------------------------------------------------


@pytest.mark.parametrize("untagged, warned", [
    (b"* NO Internal error occurred. Refer to server log\r\n", True),  # Dovecot's, on a replaced mailbox
    (b"* BAD [SERVERBUG] index broken\r\n", True),
    (b"* NO [ALERT] Your mailbox is 95% full\r\n", False),  # for the user, not about the view
    (b"* NO [OVERQUOTA] Mailbox is full\r\n", False),
    (b"* OK Still here\r\n* 3 EXISTS\r\n", False),
], ids=["no", "bad", "alert", "quota", "news"])
def test_selected_warning_is_an_untagged_no_or_bad_to_the_noop(untagged, warned):
    script = [Step("NOOP", untagged + b"{tag} OK NOOP completed\r\n")]
    with ScriptedServer(b"* PREAUTH ready", script) as server:
        client = IMAPClient(server.host, port=server.port, ssl=False, timeout=5)
        commands.reset_journal(client)
        warning = mutations.selected_warning(client)
        events = commands.take_journal(client)
        client.logout()
    assert (warning is not None) == warned, warning
    if warned:
        assert warning.startswith("the server warned about the open mailbox: ")
    # What the NOOP said about the mailbox still reaches the change tracking.
    assert [(e.kind, e.number) for e in events] == ([("EXISTS", 3)] if b"EXISTS" in untagged else [])
