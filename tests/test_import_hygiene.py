"""The protocol, cache, mime and config layers must not import Textual (ARCHITECTURE.md)."""

import subprocess
import sys

import pytest

PURE_MODULES = [
    "tui.config",
    "tui.secrets",
    "tui.models",
    "tui.mime",
    "tui.mime_decode",
    "tui.html_text",
    "tui.body_lines",
    "tui.header_block",
    "tui.dsn",
    "tui.calendar_summary",
    "tui.image_decode",
    "tui.mailcap",
    "tui.part_opener",
    "tui.path_completion",
    "tui.thread_nav",
    "tui.viewer_prefs",
    "tui.json_state",
    "tui.safe_text",
    "tui.timefmt",
    "tui.demo_data",
    "tui.demo_content",
    "tui.demo_server",
    "tui.imap.commands",
    "tui.imap.connection",
    "tui.imap.contract",
    "tui.imap.worker",
    "tui.imap.mutations",
    "tui.imap.handlers",
    "tui.imap.parts",
    "tui.imap.structure",
    "tui.imap.message_fetch",
    "tui.transfer_decode",
    "tui.filenames",
    "tui.new_file",
    "tui.part_display",
    "tui.part_walk",
    "tui.undo",
    "tui.mailbox_names",
    "tui.fuzzy",
    "tui.search_query",
    "tui.search_history",
    "tui.headers",
    "tui.cache",
    "tui.threads",
    "tui.list_order",
    "tui.imap.lean_fetch",
    "tui.imap.idle",
    "tui.imap.ordering",
    "tui.imap.sync",
    "tui.list_prefs",
    "tui.private_file",
    "tui.cache_writer",
    "tui.list_layout",
    "tui.imap.search",
]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_module_does_not_import_textual(module):
    # A fresh interpreter: in this one, other tests have already imported Textual.
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]", f"{module} pulls in {output.strip()}"
