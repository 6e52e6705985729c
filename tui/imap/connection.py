"""Open an authenticated IMAP connection, or fail with one clear sentence.

Certificates and host names are always verified: imaplib does not do it on its
own (see ARCHITECTURE.md), so every TLS path gets `ssl.create_default_context()`.
"""

from __future__ import annotations

import socket
import ssl

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from ..config import Account

DEFAULT_TIMEOUT = 30.0


class ConnectError(Exception):
    """Connecting or logging in failed; the message is meant for the user."""


def tls_context(account: Account) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if account.ca_file:
        context.load_verify_locations(cafile=str(account.ca_file))
    return context


def connect(account: Account, password: str, timeout: float = DEFAULT_TIMEOUT) -> IMAPClient:
    where = f"{account.host}:{account.port}"
    try:
        client = _open(account, timeout)
    except ssl.SSLCertVerificationError as error:
        raise ConnectError(
            f"The certificate of {account.host} could not be verified ({error.verify_message}). "
            "If the server uses a private or self-signed CA, set ca_file in the account."
        ) from None
    except ssl.SSLError as error:
        raise ConnectError(f"TLS with {where} failed ({error.reason or error}). Check port and tls.") from None
    except socket.gaierror:
        raise ConnectError(f"Cannot find the host {account.host!r}. Check the host name in the config.") from None
    except ConnectionRefusedError:
        raise ConnectError(f"{where} refused the connection. Is the server running, and is the port right?") from None
    except (TimeoutError, socket.timeout):
        raise ConnectError(f"{where} did not answer within {timeout:.0f} s. Check host, port and network.") from None
    except OSError as error:
        raise ConnectError(f"Cannot connect to {where}: {error.strerror or error}.") from None
    except IMAPClientError as error:
        raise ConnectError(f"{where} did not speak IMAP as expected: {error}.") from None
    try:
        client.login(account.username, password)
    except LoginError as error:
        _close(client)
        raise ConnectError(
            f"{account.host} refused the login for account {account.name!r}: {_reason(error)}. "
            "Check username and password."
        ) from None
    except (IMAPClientError, OSError) as error:
        _close(client)
        raise ConnectError(f"Logging in to {where} failed: {error}.") from None
    # Servers advertise more (or less) once authenticated; never trust the greeting's list.
    client._cached_capabilities = None
    client.capabilities()
    return client


def _open(account: Account, timeout: float) -> IMAPClient:
    if account.tls == "implicit":
        client = IMAPClient(account.host, port=account.port, ssl=True, ssl_context=tls_context(account), timeout=timeout)
    else:
        client = IMAPClient(account.host, port=account.port, ssl=False, timeout=timeout)
        if account.tls == "starttls":
            if b"STARTTLS" not in client.capabilities():
                _close(client)
                raise ConnectError(
                    f"{account.host} does not offer STARTTLS; refusing to send the password in clear. "
                    "Try tls = \"implicit\" on port 993."
                )
            client.starttls(tls_context(account))
            client._cached_capabilities = None
    # Our code expects raw mailbox names (bytes) and timezone-aware dates.
    client.folder_encode = False
    client.normalise_times = False
    return client


def _reason(error: Exception) -> str:
    text = str(error)
    for prefix in ("b'", 'b"'):
        text = text.replace(prefix, "")
    return text.strip("'\" ") or "no reason given"


def _close(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except Exception:
        pass
