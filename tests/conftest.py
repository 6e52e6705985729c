"""Shared pytest fixtures.

Sections: general fixtures first (add yours there), real IMAP servers at the end.
``tests/`` is on ``sys.path`` (rootdir conftest), so helpers import as ``servers``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from dataclasses import dataclass

from imapclient import IMAPClient

from servers import DovecotServer, require_dovecot
from tui.config import Account
from tui.demo_data import generate_demo, load_demo
from tui.demo_server import PymapServer

# --------------------------------------------------------------------------------------
# General fixtures (app, config, snapshots, ...) go here.
# --------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _pinned_clock_and_zone(monkeypatch):
    """Dates on screen depend on "now" and the time zone: pin both for every test."""
    monkeypatch.setenv("TUI_MAIL_NOW", "2026-11-20T12:00:00+00:00")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


# --------------------------------------------------------------------------------------
# Real IMAP servers, one per test session. Tests share them: use mailbox names unique
# to the test (e.g. derived from request.node.name) instead of assuming an empty server.
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """A private Dovecot (plain + TLS ports, user tester/secret, SPECIAL-USE folders).

    Skips when Dovecot is not installed; fails instead when CI=true.
    """
    require_dovecot()
    with DovecotServer() as server:
        yield server


@pytest.fixture(scope="session")
def pymap_server() -> Iterator[PymapServer]:
    """pymap (dict backend, plain text only) with user demouser/demopass."""
    with PymapServer() as server:
        yield server


# --------------------------------------------------------------------------------------
# The demo mailbox loaded into each server once per session, as an account to open.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A server with the demo mailbox, as tui-mail would be configured for it."""

    kind: str
    account: Account
    password: str


def _load_demo(host: str, port: int, user: str, password: str) -> None:
    client = IMAPClient(host, port=port, ssl=False, timeout=60)
    client.login(user, password)
    try:
        load_demo(client, generate_demo())
    finally:
        client.logout()


@pytest.fixture(scope="session")
def dovecot_demo(dovecot) -> Target:
    _load_demo(dovecot.host, dovecot.port, dovecot.user, dovecot.password)
    account = Account(name="dovecot", host=dovecot.host, port=dovecot.port, tls="none", username=dovecot.user)
    return Target("dovecot", account, dovecot.password)


@pytest.fixture(scope="session")
def pymap_demo(pymap_server) -> Target:
    _load_demo(pymap_server.host, pymap_server.port, pymap_server.username, pymap_server.password)
    account = Account(name="pymap", host=pymap_server.host, port=pymap_server.port, tls="none", username=pymap_server.username)
    return Target("pymap", account, pymap_server.password)


@pytest.fixture(params=["dovecot", "pymap"])
def demo_target(request) -> Target:
    """Each test using this runs once against Dovecot and once against pymap."""
    return request.getfixturevalue(f"{request.param}_demo")


# --------------------------------------------------------------------------------------
# Dovecots that announce fewer capabilities, for the fallbacks of triage (issue 4). Empty
# servers: make your own mailboxes. Skips without Dovecot, fails when CI=true.
# --------------------------------------------------------------------------------------

# What Dovecot 2.3 announces after login, cut down: no MOVE (and below, no UIDPLUS either).
CAPABILITIES_WITHOUT_MOVE = "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE CHILDREN UNSELECT SPECIAL-USE UIDPLUS"
CAPABILITIES_WITHOUT_UIDPLUS = CAPABILITIES_WITHOUT_MOVE.removesuffix(" UIDPLUS")


def _dovecot_target(kind: str, capability: str) -> Iterator[Target]:
    require_dovecot()
    with DovecotServer(capability=capability) as server:
        account = Account(name=kind, host=server.host, port=server.port, tls="none", username=server.user)
        yield Target(kind, account, server.password)


@pytest.fixture(scope="session")
def dovecot_no_move() -> Iterator[Target]:
    """A Dovecot announcing UIDPLUS but not MOVE."""
    yield from _dovecot_target("dovecot-no-move", CAPABILITIES_WITHOUT_MOVE)


@pytest.fixture(scope="session")
def dovecot_no_uidplus() -> Iterator[Target]:
    """A Dovecot announcing neither MOVE nor UIDPLUS."""
    yield from _dovecot_target("dovecot-no-uidplus", CAPABILITIES_WITHOUT_UIDPLUS)
