"""The status line under the panes: where you are, what is loading, what just happened."""

from __future__ import annotations

from rich.text import Text

from .models import SelectedMailbox
from .safe_text import safe_line
from .timefmt import count_text


def status_line(
    *,
    account: str | None,
    mailbox: str,
    selected: SelectedMailbox | None,
    loaded: int,
    search: Text | None,
    notice: str,
    order: str = "",
    problem: str,
) -> Text:
    """`INBOX  1,234 messages  5 unseen  loading 500/1234 (40%)  by date  ·  search  ·  notice  ! problem`.

    `account` is shown first when there are several; every text from the server or the
    user goes through safe_line.
    """
    line = Text()
    if account is not None:
        line.append(safe_line(account, 40) + ": ", style="dim")
    if selected is not None:
        total = len(selected.uids)
        line.append(safe_line(mailbox), style="bold")
        line.append(f"  {count_text(total)}  {selected.unseen} unseen")
        if selected.read_only:
            line.append("  read-only", style="bold yellow")
        if total and loaded < total:
            line.append(f"  loading {loaded}/{total} ({loaded * 100 // total}%)", style="dim")
        if order:
            line.append(f"  by {order}", style="dim")
        if search is not None:
            line.append("  ·  ")
            line.append_text(search)
        if notice:
            line.append("  ·  ")
    if notice:
        line.append(safe_line(notice, 300))
    if problem:
        line.append("  ! " + safe_line(problem, 300), style="bold red")
    return line
