"""How each configured `auth` method talks to the server (the SASL side of connecting).

`connection.connect()` decides whether a method may be used on a connection (TLS,
capabilities); this module only performs the exchange. Every function sends the secret
at most once and never retries: a failure raises imapclient's `LoginError` carrying the
server's own words.

For "xoauth2" and "oauthbearer" the secret is the OAuth2 access token (the caller runs
oauth2_token_command); for the others it is the password.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

# auth method -> the capability the server must advertise before we try it (None: no check)
REQUIRED_CAPABILITY: dict[str, bytes | None] = {
    "login": None,
    "plain": None,
    "cram-md5": b"AUTH=CRAM-MD5",
    "xoauth2": b"AUTH=XOAUTH2",
    "oauthbearer": b"AUTH=OAUTHBEARER",
}

# methods that hand the password itself to the server (LOGINDISABLED forbids them)
CLEARTEXT_METHODS = ("login", "plain")


def xoauth2_string(username: str, token: str) -> str:
    """The XOAUTH2 initial response (Google/Microsoft): user=...^Aauth=Bearer ...^A^A."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"


def oauthbearer_string(username: str, token: str) -> str:
    """The OAUTHBEARER initial response (RFC 7628): GS2 header, then auth=Bearer ..."""
    authzid = username.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={authzid},\x01auth=Bearer {token}\x01\x01"


def cram_md5_response(username: str, password: str, challenge: bytes) -> bytes:
    """RFC 2195: the user name, a space, and the hex HMAC-MD5 of the challenge."""
    digest = hmac.new(password.encode("utf-8"), challenge, hashlib.md5).hexdigest()
    return f"{username} {digest}".encode("utf-8")


class _OneShot:
    """A SASL callback that answers the first challenge with the credentials, once.

    A later challenge is the server's error report (XOAUTH2 sends a base64 JSON status,
    OAUTHBEARER likewise): keep it for the message and send the mechanism's "I give up"
    response (`after`), so the server answers NO and the token is never sent twice.
    With `after=None` imaplib cancels the exchange with "*".
    """

    def __init__(self, first: Callable[[bytes], bytes | str], after: bytes | None) -> None:
        self._first = first
        self._after = after
        self._calls = 0
        self.error_detail = ""

    def __call__(self, challenge: bytes) -> bytes | str | None:
        self._calls += 1
        if self._calls == 1:
            return self._first(challenge)
        self.error_detail = challenge.decode("utf-8", "replace").strip()
        return self._after


def authenticate(client: IMAPClient, method: str, username: str, secret: str):
    """Log in with `method`: the server's text of its OK (it may carry [ALERT]); raises
    `LoginError` (server's reason) on refusal."""
    if method == "login":
        return client.login(username, secret)
    if method == "plain":
        return client.plain_login(username, secret)
    if method == "cram-md5":
        return _sasl(client, "CRAM-MD5", _OneShot(lambda challenge: cram_md5_response(username, secret, challenge), None))
    if method == "xoauth2":
        # Google's protocol: an empty client response acknowledges the error challenge.
        return _sasl(client, "XOAUTH2", _OneShot(lambda _challenge: xoauth2_string(username, secret), b""))
    if method == "oauthbearer":
        # RFC 7628 3.2.3: the client answers an error challenge with a single %x01.
        return _sasl(client, "OAUTHBEARER", _OneShot(lambda _challenge: oauthbearer_string(username, secret), b"\x01"))
    raise ValueError(f"unknown auth method {method!r}")


def _sasl(client: IMAPClient, mechanism: str, callback: _OneShot):
    try:
        return client.sasl_login(mechanism, callback)
    except LoginError as error:
        if callback.error_detail:
            raise LoginError(f"{error} ({callback.error_detail})") from None
        raise
