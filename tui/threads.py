"""Conversation threads: JWZ threading, the server's THREAD answer, display order, tree lines.

`build_threads` is Jamie Zawinski's algorithm (https://www.jwz.org/doc/threading.html),
which RFC 5256 THREAD=REFERENCES also describes, over Message-ID, References and
In-Reply-To. Steps 1-4 as written; step 5 (grouping roots by subject) the way mutt does
with its default `strict_threads=no` rather than as RFC 5256 does:

- Only roots with a non-empty base subject take part, and only subjects where at least one
  root is a *reply* (its subject starts with Re:, Fwd:, Aw:, ... after any [list] tags):
  two "Weekly report" mails that reply to nothing stay two threads (RFC 5256, and so
  Dovecot's THREAD=REFERENCES, would put them under one dummy).
- A reply root (an orphaned "Re: plan", or a dummy holding orphaned replies) joins the
  thread of a non-reply root with the same base subject: the newest one that is older
  than it (by UID, i.e. arrival), else the oldest one. A dummy's replies are spliced in as
  children of that message (a non-root dummy is always spliced, as in step 4).
- Several reply roots and no non-reply root: they become children of one new dummy
  (dummies among them give up their children to it), as RFC 5256 does.

A dummy (`ThreadNode.uid is None`) is a message others refer to that is not in the
mailbox. After pruning (step 4) a dummy only ever stands at the root of a thread and has
at least two children; `threads_from_server` may produce others from odd server answers,
and `flatten` copes with dummies anywhere.

Every walk here is iterative: a 5,000-deep reply chain or a hostile server's nesting costs
no recursion. Pure module: no Textual, no Rich, no imaplib.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .headers import base_subject

__all__ = [
    "MAX_DRAWN_DEPTH",
    "ThreadLine",
    "ThreadNode",
    "build_threads",
    "flatten",
    "is_reply_subject",
    "messages_of",
    "order_threads",
    "threads_from_server",
]

# Tree drawing: levels beyond this are not drawn (the subject column has room for ~25);
# the prefix then starts with "…" and shows the innermost MAX_DRAWN_DEPTH levels.
MAX_DRAWN_DEPTH = 24

_REPLY = re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)*(?:re|fwd?|aw|sv|wg|vs|antw|réf|tr|rv)(?:\[\d+\])?\s*:", re.I
)


def is_reply_subject(subject: str) -> bool:
    """Whether a subject marks a reply or a forward ("Re: x", "[list] AW: x", "Fwd: x")."""
    return bool(_REPLY.match(subject))


@dataclass(eq=False, repr=False, slots=True)
class ThreadNode:
    """One message of a thread (uid), or a dummy (uid None) for one that is not here.

    Equality compares the whole subtree (uids and child order), without recursion.
    """

    uid: int | None
    children: list["ThreadNode"]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ThreadNode):
            return NotImplemented
        pending = [(self, other)]
        while pending:
            a, b = pending.pop()
            if a is b:
                continue
            if a.uid != b.uid or len(a.children) != len(b.children):
                return False
            pending.extend(zip(a.children, b.children))
        return True

    __hash__ = None  # mutable, compared by value

    def __repr__(self) -> str:
        # Nested like the constructor, but cut: a 100,000-message thread must not print whole.
        parts: list[str] = []
        stack: list[Any] = [(self, 0)]
        budget = 200
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                parts.append(item)
                continue
            node, depth = item
            budget -= 1
            if budget < 0 or depth > 20:
                parts.append("…")
                continue
            parts.append(f"ThreadNode({node.uid!r}, [")
            stack.append("])")
            for index in range(len(node.children) - 1, -1, -1):
                stack.append((node.children[index], depth + 1))
                if index:
                    stack.append(", ")
        return "".join(parts)


@dataclass(frozen=True, slots=True)
class ThreadLine:
    """One line of the threaded list, in display order."""

    uid: int
    depth: int
    prefix: str  # tree drawing for the subject column: "", "├─>", "│ └─>", ...
    root: int  # uid of the first message of its thread (what collapse acts on)
    hidden: int = 0  # >0 only on a collapsed thread's line: how many messages it hides
    hidden_unread: int = 0  # how many of those hidden are unread


# --------------------------------------------------------------------------------------
# JWZ
# --------------------------------------------------------------------------------------


class _Box:
    """JWZ's container: a message (uid) or a dummy, with parent and ordered children."""

    __slots__ = ("uid", "parent", "children", "out")

    def __init__(self) -> None:
        self.uid: int | None = None
        self.parent: _Box | None = None
        self.children: dict[_Box, None] | None = None  # an ordered set: O(1) unlink
        self.out: Any = None  # after pruning: a ThreadNode, or a dummy's list of nodes


def _is_ancestor(box: _Box, of: _Box) -> bool:
    """Whether `box` is `of` or above it: linking box under `of` would make a loop."""
    if box is of:
        return True
    if not box.children:  # nothing below it: cannot be above anything
        return False
    node = of.parent
    while node is not None:
        if node is box:
            return True
        node = node.parent
    return False


def _link(parent: _Box, child: _Box) -> None:
    child.parent = parent
    if parent.children is None:
        parent.children = {}
    parent.children[child] = None


def _unlink(child: _Box) -> None:
    parent = child.parent
    if parent is not None:
        del parent.children[child]
        child.parent = None


def build_threads(links: Iterable[tuple[int, str, tuple[str, ...], str]]) -> list[ThreadNode]:
    """Threads from (uid, Message-ID, parents oldest first, subject) per message; the roots.

    The last field is the subject as shown ("Re: plan"), from which the base subject and
    whether it is a reply are taken (see the module notes on subject grouping). Passing an
    already stripped base subject works too: no root then counts as a reply, so no roots
    are grouped by subject (strict threading). A uid given twice counts once.
    """
    table: dict[str, _Box] = {}
    extra: list[_Box] = []  # messages not in the table: no Message-ID, or a duplicate one
    subjects: dict[int, str] = {}  # uid -> subject; also the uids seen
    for uid, message_id, parents, subject in links:
        if uid in subjects:
            continue
        subjects[uid] = subject or ""
        # 1A: the message's container; a duplicate Message-ID gets a key of its own
        box = table.get(message_id) if message_id else None
        if box is None or box.uid is not None:
            box = _Box()
            if message_id and message_id not in table:
                table[message_id] = box
            else:
                extra.append(box)
        box.uid = uid
        # 1B: link the References in order, without changing links made before
        previous: _Box | None = None
        for ref in parents:
            current = table.get(ref)
            if current is None:
                if not ref:
                    continue
                current = table[ref] = _Box()
                if previous is not None:  # new: no parent, no children, so no loop
                    current.parent = previous
                    if previous.children is None:
                        previous.children = {current: None}
                    else:
                        previous.children[current] = None
            elif previous is not None and current.parent is None and not _is_ancestor(current, previous):
                _link(previous, current)
            previous = current
        # 1C: the message's own last reference is its parent
        if previous is None:
            if box.parent is not None:
                _unlink(box)
        elif previous is not box.parent and not _is_ancestor(box, previous):
            _unlink(box)
            _link(previous, box)
        # (a loop through the message itself keeps the parent it had, if any)

    # 2-4: the roots, pruned of dummies: children before parents, iteratively
    roots: list[ThreadNode] = []
    for box in _chain(table.values(), extra):
        if box.parent is not None:
            continue
        order = [box]
        if box.children:
            stack = list(box.children)
            while stack:
                current = stack.pop()
                order.append(current)
                if current.children:
                    stack.extend(current.children)
        for current in reversed(order):
            kids: list[ThreadNode] = []
            if current.children:
                for child in current.children:
                    out = child.out
                    if out.__class__ is list:  # a dummy below the root: its children move up
                        kids.extend(out)
                    else:
                        kids.append(out)
                    child.out = None
            current.out = ThreadNode(current.uid, kids) if current.uid is not None else kids
        out, box.out = box.out, None
        if out.__class__ is list:  # a dummy root: gone if empty, replaced by an only child
            if not out:
                continue
            out = out[0] if len(out) == 1 else ThreadNode(None, out)
        roots.append(out)

    return _group_by_subject(roots, subjects)


def _chain(*iterables):
    for iterable in iterables:
        yield from iterable


def _first_uid(node: ThreadNode) -> int | None:
    """The smallest uid of a subtree (a dummy root's "first message")."""
    best = None
    stack = [node]
    while stack:
        current = stack.pop()
        if current.uid is not None and (best is None or current.uid < best):
            best = current.uid
        stack.extend(current.children)
    return best


def _group_by_subject(roots: list[ThreadNode], subjects: dict[int, str]) -> list[ThreadNode]:
    """JWZ step 5, mutt style: only where a root is a reply (see the module notes)."""
    groups: dict[str, list[tuple[int, ThreadNode, bool]]] = {}
    for root in roots:
        if root.uid is not None:
            first = root.uid
            subject = subjects.get(first, "")
            reply = is_reply_subject(subject)
        else:  # a dummy: its replies speak for it; its subject is its first child's
            first = _first_uid(root)
            if first is None:
                continue
            heads = [c.uid for c in root.children if c.uid is not None]
            subject = subjects.get(min(heads) if heads else first, "")
            reply = True
        key = base_subject(subject).casefold() if subject else ""
        if key:
            groups.setdefault(key, []).append((first, root, reply))
    absorbed: set[int] = set()  # id() of roots that went into another thread
    made: dict[int, ThreadNode] = {}  # id() of the first root of a group -> its new dummy
    for members in groups.values():
        if len(members) < 2 or not any(reply for _first, _root, reply in members):
            continue
        members.sort(key=lambda m: m[0])
        starters = [(first, root) for first, root, reply in members if not reply]
        replies = [(first, root) for first, root, reply in members if reply]
        if starters:
            firsts = [start_first for start_first, _root in starters]
            for first, root in replies:
                # the newest starter older than the reply, else the oldest one
                target = starters[max(0, bisect_left(firsts, first) - 1)][1]
                target.children.extend(root.children if root.uid is None else [root])
                absorbed.add(id(root))
        else:
            dummy = ThreadNode(None, [])
            for _first, root in replies:
                dummy.children.extend(root.children if root.uid is None else [root])
                absorbed.add(id(root))
            made[id(replies[0][1])] = dummy
    if not absorbed:
        return roots
    result = []
    for root in roots:
        if id(root) in made:
            result.append(made[id(root)])
        elif id(root) not in absorbed:
            result.append(root)
    return result


# --------------------------------------------------------------------------------------
# The server's THREAD answer
# --------------------------------------------------------------------------------------


def threads_from_server(nested: Sequence[Any]) -> list[ThreadNode]:
    """Nodes from a THREAD answer as nested tuples (imapclient's `thread()` result).

    RFC 5256: "(1 2 (3)(4 5))" is 1 -> 2 -> {3, 4 -> 5}; a list that starts with lists,
    "((3)(5))", has a dummy at its head. Odd shapes are taken as kindly as possible: a
    number after sub-lists continues under the last message; a uid seen before, or 0,
    becomes a dummy (its children stay); what is not an int is skipped. Dummies below the
    root are spliced into their parent, empty ones dropped, a root dummy with one child
    gives way to it.
    """
    roots: list[ThreadNode] = []
    seen: set[int] = set()
    dummies = False  # any made: only then is there pruning to do
    # frames: [iterator over a list's items, what its first message hangs under (None: the
    # roots), the list's last message so far]
    stack: list[list[Any]] = [[iter(nested), None, None]]
    while stack:
        frame = stack[-1]
        items, parent, current = frame
        top = len(stack) == 1
        for item in items:  # until the list ends, or a sub-list to descend into
            if isinstance(item, int) and not isinstance(item, bool):
                uid = item if item > 0 and item not in seen else None
                if uid is None:
                    dummies = True
                else:
                    seen.add(uid)
                node = ThreadNode(uid, [])
                if top:  # a bare number at the top: a thread of its own
                    roots.append(node)
                    continue
                anchor = current or parent
                if anchor is None:
                    roots.append(node)
                else:
                    anchor.children.append(node)
                current = node
            elif isinstance(item, (tuple, list)):
                if top:  # a thread
                    stack.append([iter(item), None, None])
                    break
                if current is None:  # a list that starts with lists: a dummy heads it
                    current = ThreadNode(None, [])
                    dummies = True
                    if parent is None:
                        roots.append(current)
                    else:
                        parent.children.append(current)
                frame[2] = current
                stack.append([iter(item), current, None])
                break
        else:
            stack.pop()
    return _prune_dummies(roots) if dummies else roots


_END = object()


def _prune_dummies(roots: list[ThreadNode]) -> list[ThreadNode]:
    """Splice every dummy below the root level into its parent's children; drop empty
    dummies; a root dummy keeps two or more children, else gives way to its only child."""
    # children lists rewritten bottom-up (post-order), iteratively
    order: list[ThreadNode] = []
    stack = list(roots)
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.children)
    for node in reversed(order):
        for child in node.children:
            if child.uid is None:
                break
        else:
            continue
        kids: list[ThreadNode] = []
        for child in node.children:
            if child.uid is None:
                kids.extend(child.children)
            else:
                kids.append(child)
        node.children = kids
    result = []
    for root in roots:
        if root.uid is None:
            if not root.children:
                continue
            if len(root.children) == 1:
                root = root.children[0]
        result.append(root)
    return result


# --------------------------------------------------------------------------------------
# Order and display
# --------------------------------------------------------------------------------------


def messages_of(root: ThreadNode) -> list[int]:
    """Every message uid of a thread, depth first."""
    found = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.uid is not None:
            found.append(node.uid)
        stack.extend(reversed(node.children))
    return found


def order_threads(roots: Sequence[ThreadNode], key: Callable[[int], Any], reverse: bool) -> list[ThreadNode]:
    """Roots by the key of their newest message (max key in the thread), reverse=True
    first; each node's children by key ascending (oldest reply first), sorted in place.

    A dummy sorts among its siblings by its earliest message's key (as RFC 5256 orders a
    dummy by its first child). Ties go to the smaller uid (for roots: the thread's first
    message) first, in both directions, as RFC 5256 SORT breaks ties. `key` is called
    once per uid; dummies never reach it.
    """
    keys: dict[int, Any] = {}
    low: dict[int, tuple[Any, int]] = {}  # id(node) -> (min key, min uid) of its subtree
    high: dict[int, Any] = {}  # id(root) -> max key of the thread
    result = []
    for root in roots:
        order: list[ThreadNode] = []
        stack = [root]
        while stack:
            node = stack.pop()
            order.append(node)
            stack.extend(node.children)
        top = None
        for node in reversed(order):  # children before parents
            if node.uid is not None:
                value = keys.get(node.uid, _END)
                if value is _END:
                    value = keys[node.uid] = key(node.uid)
                own = (value, node.uid)
                top = value if top is None or value > top else top
            else:
                own = None
            if node.children:
                node.children.sort(key=lambda child: low[id(child)])
                if own is None:
                    own = min(low[id(child)] for child in node.children)
                for child in node.children:
                    del low[id(child)]
            low[id(node)] = own if own is not None else (_Lowest, 0)
        if top is None:  # a thread without messages: nothing to show
            low.pop(id(root), None)
            continue
        high[id(root)] = (top, -low[id(root)][1] if reverse else low[id(root)][1])
        result.append(root)
    result.sort(key=lambda r: high[id(r)], reverse=reverse)
    return result


class _LowestType:
    """Sorts before anything (the key of an empty dummy, which has no messages)."""

    def __lt__(self, other: object) -> bool:
        return other is not self

    def __gt__(self, other: object) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return other is self

    __hash__ = object.__hash__


_Lowest = _LowestType()


def _display_kids(nodes: list[ThreadNode], extras: dict[int, list[ThreadNode]]) -> list[ThreadNode]:
    """Children as drawn: a dummy is replaced by its first message, which takes the
    dummy's other children after its own (mutt's hide_missing); those go to
    `extras[id(message)]`. Without dummies (nearly always), `nodes` itself."""
    for node in nodes:
        if node.uid is None:
            break
    else:
        return nodes
    shown = []
    for node in nodes:
        if node.uid is not None:
            shown.append(node)
            continue
        pending = deque(node.children)
        while pending:
            first = pending.popleft()
            if first.uid is None:
                pending.extendleft(reversed(first.children))
                continue
            shown.append(first)
            if pending:
                extras[id(first)] = list(pending)
            break
    return shown


def _count(node: ThreadNode, extra: list[ThreadNode], skip: int, is_unread: Callable[[int], bool]) -> tuple[int, int]:
    """Messages and unread messages under a line (its subtree and extras), but `skip`."""
    total = unread = 0
    stack = [*node.children, *extra]
    while stack:
        current = stack.pop()
        if current.uid is not None and current.uid != skip:
            total += 1
            if is_unread(current.uid):
                unread += 1
        stack.extend(current.children)
    return total, unread


def flatten(roots: Sequence[ThreadNode], collapsed: set[int] | frozenset[int],
            is_unread: Callable[[int], bool]) -> list[ThreadLine]:
    """Display lines, in order. A thread whose root (first message) is in `collapsed`
    shows its first line only, with hidden / hidden_unread counts. Dummies are not shown:
    the first child takes the dummy's place and its siblings hang under it."""
    lines: list[ThreadLine] = []
    append = lines.append
    extras: dict[int, list[ThreadNode]] = {}  # id(message) -> a dropped dummy's other children
    for head in _display_kids(list(roots), extras):
        root_uid = head.uid
        extra = extras.pop(id(head), ())
        if root_uid in collapsed:
            hidden, hidden_unread = _count(head, extra, root_uid, is_unread)
            append(ThreadLine(root_uid, 0, "", root_uid, hidden, hidden_unread))
            continue
        append(ThreadLine(root_uid, 0, "", root_uid))
        children = [*head.children, *extra] if extra else head.children
        if not children:
            continue
        # frames: [drawn children, next index, indent for their prefixes, their depth]
        stack: list[list[Any]] = [[_display_kids(children, extras), 0, "", 1]]
        while stack:
            frame = stack[-1]
            kids, index, indent, depth = frame
            if index >= len(kids):
                stack.pop()
                continue
            frame[1] = index + 1
            node = kids[index]
            last = index == len(kids) - 1
            prefix = indent + ("└─>" if last else "├─>")
            if depth > MAX_DRAWN_DEPTH:
                prefix = "…" + prefix[-(2 * MAX_DRAWN_DEPTH + 1):]
            append(ThreadLine(node.uid, depth, prefix, root_uid))
            more = extras.pop(id(node), None) if extras else None
            children = [*node.children, *more] if more else node.children
            if children:
                inner = indent + ("  " if last else "│ ")
                if len(inner) > 2 * MAX_DRAWN_DEPTH:  # keep the indent bounded: only the
                    inner = inner[-2 * MAX_DRAWN_DEPTH:]  # innermost levels are drawn
                stack.append([_display_kids(children, extras), 0, inner, depth + 1])
    return lines
