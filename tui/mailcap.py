"""Which program opens a MIME type: a small reader of mailcap files (RFC 1524).

Python's own `mailcap` module is deprecated and gone in 3.13, and it substitutes
message parameters into shell commands as they are.  Here every substitution is made
safe for the shell line it lands in, and an entry that cannot be made safe is skipped,
never run:

* `%s` (the file) and `%t` (the type) are shell-quoted where the line leaves them
  unquoted.  Inside quotes the author wrote ('%s' is common), a value is inserted as
  is, and only if it holds no character the shell or a nested command substitution
  could read: otherwise the entry is skipped.  The file names come from us (see
  tui.part_opener, which keeps them plain), the type must be a plain token/token.
* `%{name}` takes a Content-Type parameter, which the sender wrote: only a short
  value of letters, digits, ".", "_" and "-" is used; any other skips the entry.
* `%n` and `%F` (multipart only) skip the entry.

Entries are taken in file order, the first matching one wins, wildcard or not (RFC
1524 and mutt; Python's module preferred exact types).  The files are $MAILCAPS, else
~/.mailcap, /etc/mailcap, /usr/etc/mailcap, /usr/local/etc/mailcap.

`copiousoutput` entries are filters that print the part as text for mutt's pager;
opening a part means a program of its own, so `find_viewer` leaves them out unless
asked for them (tui.part_opener uses one, piped into a pager, only when nothing else
can open the part).  `test=` commands are run, as mutt does, with the same quoting,
for at most 2 seconds each and a few seconds in all: they may block, so look up
viewers off the UI thread.

Pure module: no Textual or Rich imports.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import stat
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tui.filenames import safe_filename

__all__ = [
    "MailcapEntry",
    "Viewer",
    "expand",
    "find_viewer",
    "is_plain_value",
    "load_entries",
    "mailcap_files",
    "media_type",
    "parse_mailcap",
]

DEFAULT_FILES = ("~/.mailcap", "/etc/mailcap", "/usr/etc/mailcap", "/usr/local/etc/mailcap")
MAX_FILE_BYTES = 1 << 20  # a mailcap file is read up to here; the rest is ignored
MAX_ENTRIES_PER_FILE = 10_000
MAX_LINE_CHARS = 16_384  # one entry, continuation lines joined
MAX_FILES = 32  # from $MAILCAPS
TEST_TIMEOUT = 2.0  # seconds for one test= command
TEST_BUDGET = 5.0  # seconds for all test= commands of one lookup

_TOKEN = r"[a-z0-9][a-z0-9._+-]{0,63}"
_MEDIA_TYPE = re.compile(f"{_TOKEN}/{_TOKEN}")
_ENTRY_TYPE = re.compile(f"{_TOKEN}(?:/(?:{_TOKEN}|\\*))?")
_PARAM_VALUE = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Characters that mean nothing to a shell, in any quoting context or nested $(...).
_PLAIN_PUNCTUATION = frozenset("@%+=:,./-_")


@dataclass(frozen=True)
class MailcapEntry:
    media_type: str  # "image/png" or "image/*", lower-case
    view: str  # the view command, mailcap escapes still in it
    needs_terminal: bool = False
    copious_output: bool = False
    test: str = ""
    name_template: str = ""
    source: str = ""  # "/home/u/.mailcap:12", for messages

    def matches(self, media: str) -> bool:
        if self.media_type == media:
            return True
        major, _, minor = self.media_type.partition("/")
        return minor == "*" and media.split("/", 1)[0] == major


@dataclass(frozen=True)
class Viewer:
    """A mailcap command ready for `sh -c`, all substitutions done."""

    command: str
    needs_terminal: bool
    copious_output: bool
    stdin: bool  # no %s in the command: the file goes to its standard input
    file: Path  # the file it reads: the given path, renamed if a nametemplate says so
    source: str = ""


def media_type(content_type: str) -> str | None:
    """"type/subtype" in lower case from a Content-Type value, or None if it is not a plain one."""
    value = str(content_type or "").split(";", 1)[0].strip().lower()
    return value if _MEDIA_TYPE.fullmatch(value) else None


def is_plain_value(value: str) -> bool:
    """True if no shell reads anything special in `value`, quoted or not: letters,
    digits (any script) and @%+=:,./-_ only."""
    return all(ch.isalnum() or ch in _PLAIN_PUNCTUATION for ch in value)


def mailcap_files() -> list[Path]:
    """The files to read, in order: $MAILCAPS (colon-separated) if set, else the usual four."""
    configured = os.environ.get("MAILCAPS")
    names = [name for name in configured.split(":") if name][:MAX_FILES] if configured else list(DEFAULT_FILES)
    return [Path(name).expanduser() for name in names]


def load_entries(files: Sequence[Path] | None = None) -> list[MailcapEntry]:
    """Every entry of every readable file, in order.  Missing or unreadable files are skipped."""
    entries: list[MailcapEntry] = []
    for path in mailcap_files() if files is None else files:
        text = _read_capped(Path(path))
        if text is not None:
            entries.extend(parse_mailcap(text, str(path)))
    return entries


def parse_mailcap(text: str, source: str = "") -> list[MailcapEntry]:
    """The entries of one mailcap file's text.  Malformed lines are skipped, never raised on."""
    entries: list[MailcapEntry] = []
    for number, line in _logical_lines(text):
        if len(entries) >= MAX_ENTRIES_PER_FILE:
            break
        entry = _parse_entry(line, f"{source}:{number}" if source else str(number))
        if entry is not None:
            entries.append(entry)
    return entries


def find_viewer(
    content_type: str,
    path: Path,
    *,
    params: Mapping[str, str] | None = None,
    copious_output: bool = False,
    entries: Sequence[MailcapEntry] | None = None,
) -> Viewer | None:
    """The first entry for `content_type` whose test passes and whose substitutions are
    safe, expanded for `path`; None if there is none.

    `copious_output=False` looks only at entries without the flag (programs that show
    the part themselves), True only at those with it (text filters).  `params` are the
    part's Content-Type parameters (hostile).  May run test= commands: not on the UI
    thread.
    """
    media = media_type(content_type) or "application/octet-stream"
    lowered = {str(key).lower(): str(value) for key, value in (params or {}).items()}
    deadline = time.monotonic() + TEST_BUDGET
    for entry in load_entries() if entries is None else entries:
        if entry.copious_output != copious_output or not entry.matches(media):
            continue
        file = _templated(Path(path), entry.name_template)
        expanded = expand(entry.view, file=str(file), content_type=media, params=lowered)
        if expanded is None:
            continue
        command, uses_file = expanded
        # The test sees the file under the name it has now, before any nametemplate rename.
        if entry.test and not _test_passes(entry.test, str(path), media, lowered, deadline):
            continue
        return Viewer(
            command=command,
            needs_terminal=entry.needs_terminal,
            copious_output=entry.copious_output,
            stdin=not uses_file,
            file=file,
            source=entry.source,
        )
    return None


def expand(field: str, *, file: str, content_type: str, params: Mapping[str, str]) -> tuple[str, bool] | None:
    """A mailcap command with %s, %t, %{param} and backslash escapes done, and whether
    it names the file (%s); None if a value cannot be put into it safely.

    `params` keys must be lower case.
    """
    out: list[str] = []
    shell = _ShellState()
    uses_file = False
    i, n = 0, len(field)
    while i < n:
        char = field[i]
        if char == "\\":  # a mailcap escape: the next character as it is ("\;", "\%")
            if i + 1 < n:
                shell.feed(field[i + 1])
                out.append(field[i + 1])
            i += 2
            continue
        if char != "%" or i + 1 >= n:
            shell.feed(char)
            out.append(char)
            i += 1
            continue
        code = field[i + 1]
        i += 2
        if code == "s":
            value = file
            uses_file = True
        elif code == "t":
            if not _MEDIA_TYPE.fullmatch(content_type):
                return None
            value = content_type
        elif code == "{":
            end = field.find("}", i)
            if end < 0:
                return None
            value = params.get(field[i:end].strip().lower(), "")
            i = end + 1
            if value and not _PARAM_VALUE.fullmatch(value):
                return None
        elif code == "%":
            shell.feed("%")
            out.append("%")
            continue
        elif code in "nF":  # the parts of a multipart: not something we open
            return None
        else:  # unknown: kept as written, as mutt does
            for literal in ("%", code):
                shell.feed(literal)
                out.append(literal)
            continue
        piece = shell.insert(value, out[-1] if out else "")
        if piece is None:
            return None
        out.append(piece)
    return "".join(out), uses_file


class _ShellState:
    """Where in the shell's quoting a position of the command line is, as far as
    substituting a value needs to know: unquoted, in '...', in "...", after a backslash."""

    def __init__(self) -> None:
        self.quote = ""
        self.escaped = False

    def feed(self, char: str) -> None:
        if self.escaped:
            self.escaped = False
        elif self.quote == "'":
            if char == "'":
                self.quote = ""
        elif self.quote == '"':
            if char == '"':
                self.quote = ""
            elif char == "\\":
                self.escaped = True
        elif char in "'\"":
            self.quote = char
        elif char == "\\":
            self.escaped = True

    def insert(self, value: str, previous: str) -> str | None:
        """`value` as it must be written here, or None if it cannot be written safely."""
        if not value:
            return ""
        # After a backslash the value's opening quote would be a literal; after "$" it
        # would be bash's $'...' (escapes) or part of a variable name.
        if self.escaped or previous == "$":
            return None
        if self.quote:
            return value if is_plain_value(value) else None
        return shlex.quote(value)


def _test_passes(test: str, file: str, media: str, params: Mapping[str, str], deadline: float) -> bool:
    expanded = expand(test, file=file, content_type=media, params=params)
    remaining = deadline - time.monotonic()
    if expanded is None or remaining <= 0:
        return False
    try:
        # Its own session, so a timeout kills what it started too.
        process = subprocess.Popen(
            ["/bin/sh", "-c", expanded[0]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,
        )
    except OSError:
        return False
    try:
        return process.wait(timeout=min(TEST_TIMEOUT, remaining)) == 0
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass
        process.wait()
        return False


def _templated(path: Path, template: str) -> Path:
    """The file name a nametemplate asks for ("%s.html": end in .html), else `path`."""
    if "%s" not in template:
        return path
    prefix, _, suffix = template.partition("%s")
    name = path.name
    if name.startswith(prefix) and name.endswith(suffix):
        return path
    wanted = safe_filename(prefix + name + suffix)
    return path.with_name(wanted) if is_plain_value(wanted) else path


def _read_capped(path: Path) -> str | None:
    try:
        # A regular file only: a FIFO or a device named ~/.mailcap would block or never end.
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES)
    except (OSError, ValueError):
        return None
    return data.decode("utf-8", "replace")


def _logical_lines(text: str):
    """(first line number, line) with continuation lines joined and comments dropped."""
    pending: list[str] = []
    start = 0
    size = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        continued = raw.endswith("\\")
        piece = raw[:-1] if continued else raw
        size += len(piece)
        if size <= MAX_LINE_CHARS:
            pending.append(piece)
        if continued:
            continue
        line = "".join(pending) if size <= MAX_LINE_CHARS else ""
        pending, size = [], 0
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield start, stripped


def _split_fields(line: str) -> list[str]:
    """Fields at unescaped semicolons; escapes stay for `expand` to undo."""
    fields: list[str] = []
    current: list[str] = []
    i, n = 0, len(line)
    while i < n:
        char = line[i]
        if char == "\\" and i + 1 < n:
            current.append(line[i : i + 2])
            i += 2
            continue
        if char == ";":
            fields.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    fields.append("".join(current).strip())
    return fields


def _parse_entry(line: str, source: str) -> MailcapEntry | None:
    fields = _split_fields(line)
    if len(fields) < 2 or not fields[1]:
        return None
    kind = fields[0].strip().lower()
    if not _ENTRY_TYPE.fullmatch(kind):
        return None
    if "/" not in kind:  # RFC 1524: "image" means "image/*"
        kind += "/*"
    flags: dict[str, str] = {}
    for field in fields[2:]:
        name, equals, value = field.partition("=")
        name = name.strip().lower()
        if name and name not in flags:
            flags[name] = value.strip() if equals else ""
    return MailcapEntry(
        media_type=kind,
        view=fields[1],
        needs_terminal="needsterminal" in flags,
        copious_output="copiousoutput" in flags,
        test=flags.get("test", ""),
        name_template=_unescape(flags.get("nametemplate", "")),
        source=source,
    )


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)
