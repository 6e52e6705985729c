"""Pilot tests for the reusable dialogs: ConfirmScreen, PromptScreen, MailboxPicker."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static

from tui.dialogs import ConfirmScreen, PromptScreen
from tui.widgets.mailbox_picker import MailboxPicker, NewMailboxName, PickerItem

MARKUP_LABEL = "[bold]x[/]"
CLICK_LABEL = "[@click=app.quit]Quit[/]"
OSC_LABEL = "evil\x1b]52;c;aGVsbG8=\x07name"

NAMES = [
    "INBOX",
    "Sent",
    "Drafts",
    "Archive",
    "Projects/Alpha",
    "Projects/Alpha/Specs",
    "Projects/Beta/Specs",
    "Personal/Taxes",
    MARKUP_LABEL,
    CLICK_LABEL,
    OSC_LABEL,
    "Trash",
]
ITEMS = [PickerItem(name, ("value", name), f"{i} unread" if i % 2 else "") for i, name in enumerate(NAMES)]


class Host(App[None]):
    """Pushes one screen at start and records what it was dismissed with."""

    def __init__(self, make: Callable[[], Screen]) -> None:
        super().__init__()
        self._make = make
        self.results: list[object] = []

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.push_screen(self._make(), self.results.append)


def text_of(widget) -> str:
    return str(widget.render())


async def run_keys(make: Callable[[], Screen], *keys: str, size=(80, 24)) -> list[object]:
    app = Host(make)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        await pilot.pause()
        return app.results


def prompts(option_list: OptionList) -> list[str]:
    return [str(option_list.get_option_at_index(i).prompt) for i in range(option_list.option_count)]


# --- ConfirmScreen ----------------------------------------------------------------


def confirm(danger: bool = False) -> Callable[[], ConfirmScreen]:
    return lambda: ConfirmScreen("Delete 3 messages?", "They go to Trash.\nSecond line.", danger=danger)


async def test_confirm_y_is_yes_n_and_escape_are_no():
    assert await run_keys(confirm(), "y") == [True]
    assert await run_keys(confirm(danger=True), "y") == [True]
    assert await run_keys(confirm(), "n") == [False]
    assert await run_keys(confirm(), "escape") == [False]


async def test_confirm_enter_presses_the_default_button():
    assert await run_keys(confirm(danger=False), "enter") == [True]
    assert await run_keys(confirm(danger=True), "enter") == [False]  # a stray Enter deletes nothing


async def test_confirm_arrows_move_between_buttons():
    assert await run_keys(confirm(danger=True), "left", "enter") == [True]
    assert await run_keys(confirm(danger=False), "right", "enter") == [False]
    assert await run_keys(confirm(danger=True), "tab", "enter") == [True]


async def test_confirm_answers_once():
    assert await run_keys(confirm(), "y", "n", "y") == [True]


async def test_confirm_shows_title_body_and_labels_literally():
    title = "Delete [b]bold[/b]?\x1b[31m"
    body = "[@click=app.quit]x[/]\nline two \x1b]8;;http://evil\x07here"
    app = Host(lambda: ConfirmScreen(title, body, yes="Delete [red]", no="Keep", danger=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        assert text_of(screen.query_one("#confirm-title")) == "Delete [b]bold[/b]?"
        body_text = text_of(screen.query_one("#confirm-body Static"))
        assert body_text.splitlines() == ["[@click=app.quit]x[/]", "line two here"]
        assert "Delete [red]" in str(screen.query_one("#confirm-yes").label)
        assert app.focused is screen.query_one("#confirm-no")
        assert app.results == []  # nothing was run as an action


# --- PromptScreen -----------------------------------------------------------------


def prompt(value: str = "Projects/") -> Callable[[], PromptScreen]:
    return lambda: PromptScreen("New mailbox", value=value, hint="Use / to nest", placeholder="name")


async def test_prompt_prefills_with_cursor_at_end_and_returns_the_text():
    app = Host(prompt())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        field = app.screen.query_one(Input)
        assert field.value == "Projects/"
        assert field.cursor_position == len("Projects/")
        assert app.focused is field
        assert "Use / to nest" in text_of(app.screen.query_one("#prompt-hint"))
        await pilot.press(*"Alpha", "enter")
        await pilot.pause()
        assert app.results == ["Projects/Alpha"]


async def test_prompt_strips_and_empty_is_none():
    assert await run_keys(prompt("  Spaced  "), "enter") == ["Spaced"]
    assert await run_keys(prompt(""), "enter") == [None]
    assert await run_keys(prompt("   "), "enter") == [None]


async def test_prompt_escape_is_none():
    assert await run_keys(prompt(), "x", "escape") == [None]


# --- MailboxPicker ----------------------------------------------------------------


def picker(allow_new: bool = False, items=ITEMS) -> Callable[[], MailboxPicker]:
    return lambda: MailboxPicker("Move 3 messages to", items, allow_new=allow_new, hint="Esc keeps them")


async def test_picker_lists_everything_in_order_and_filters_as_you_type():
    app = Host(picker())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MailboxPicker)
        option_list = screen.query_one(OptionList)
        assert app.focused is screen.query_one(Input)
        assert option_list.option_count == len(NAMES)
        assert option_list.highlighted == 0
        assert "12 of 12" in text_of(screen.query_one("#picker-footer"))
        await pilot.press(*"pas")
        await pilot.pause()
        labels = prompts(option_list)
        assert labels[0].startswith("Projects/Alpha/Specs")
        assert option_list.option_count == 3  # Alpha/Specs, Beta/Specs, Personal/Taxes
        assert "3 of 12" in text_of(screen.query_one("#picker-footer"))
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [("value", "Projects/Alpha/Specs")]


async def test_picker_down_enter_picks_the_second():
    assert await run_keys(picker(), "down", "enter") == [("value", "Sent")]
    assert await run_keys(picker(), "down", "down", "up", "enter") == [("value", "Sent")]
    assert await run_keys(picker(), "up", "enter") == [("value", "INBOX")]  # clamps at the top


async def test_picker_ctrl_n_and_ctrl_p_move_without_opening_the_palette():
    app = Host(picker())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+n", "ctrl+n", "ctrl+p")
        await pilot.pause()
        assert not CommandPalette.is_open(app)
        assert isinstance(app.screen, MailboxPicker)
        assert app.screen.query_one(OptionList).highlighted == 1
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [("value", "Sent")]


async def test_picker_escape_is_none():
    assert await run_keys(picker(), "escape") == [None]
    assert await run_keys(picker(), "i", "n", "escape") == [None]


async def test_picker_enter_with_no_match_does_nothing():
    app = Host(picker())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"qqq", "enter")
        await pilot.pause()
        assert app.results == []
        assert app.screen.query_one(OptionList).option_count == 0
        assert "0 of 12" in text_of(app.screen.query_one("#picker-footer"))


async def test_picker_allow_new_offers_the_typed_name():
    # Nothing matches: the new-mailbox option is the only one, highlighted.
    assert await run_keys(picker(allow_new=True), *"Zzq Neu", "enter") == [NewMailboxName("Zzq Neu")]
    app = Host(picker(allow_new=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*" Specs ")
        await pilot.pause()
        option_list = app.screen.query_one(OptionList)
        labels = prompts(option_list)
        assert labels[-1] == "+ new mailbox: Specs"  # stripped, and last
        assert option_list.highlighted == 0  # the best match, not the new name
        await pilot.press("end", "x")  # " Specs x" no longer matches anything
        await pilot.pause()
        assert prompts(option_list) == ["+ new mailbox: Specs x"]
        assert option_list.highlighted == 0


async def test_picker_allow_new_not_offered_for_an_existing_name():
    app = Host(picker(allow_new=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"inbox")
        await pilot.pause()
        labels = prompts(app.screen.query_one(OptionList))
        assert labels == ["INBOX"]
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [("value", "INBOX")]


async def test_picker_without_allow_new_never_offers_it():
    app = Host(picker(allow_new=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"brandnew")
        await pilot.pause()
        assert app.screen.query_one(OptionList).option_count == 0


async def test_picker_labels_are_literal_not_markup():
    app = Host(picker())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        labels = prompts(app.screen.query_one(OptionList))
        assert any(label.startswith(MARKUP_LABEL) for label in labels)
        assert any(label.startswith(CLICK_LABEL) for label in labels)
        assert any(label.startswith("evilname") for label in labels)
        assert not any("\x1b" in label or "\x07" in label for label in labels)
        svg = app.export_screenshot()
        assert MARKUP_LABEL in svg  # shown on screen with its brackets
        assert "evilname" in svg and "52;c" not in svg
        await pilot.press(*"[bold]")
        await pilot.pause()
        assert prompts(app.screen.query_one(OptionList))[0].startswith(MARKUP_LABEL)
        assert app.results == []  # the [@click] label was not run


async def test_picker_click_chooses_an_option():
    app = Host(picker())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.click("#picker-list", offset=(3, 1))
        await pilot.pause()
        assert app.results == [("value", "Sent")]


async def test_picker_fits_small_and_large_terminals():
    many = [PickerItem(f"Folder {i:03}", i) for i in range(300)]
    for size in ((80, 24), (120, 40)):
        app = Host(picker(items=many))
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            box = app.screen.query_one("#picker-box")
            footer = app.screen.query_one("#picker-footer")
            assert box.region.height <= int(size[1] * 0.8)
            assert box.region.width <= size[0]
            # The footer is inside the box, not cut off below it.
            assert footer.region.bottom <= box.region.bottom - 1
            assert "300 of 300" in text_of(footer)
            await pilot.press("pagedown")
            await pilot.pause()
            assert app.screen.query_one(OptionList).highlighted > 3


async def test_confirm_long_body_scrolls_and_keeps_the_buttons_on_screen():
    body = "\n".join(f"message {i}" for i in range(300))
    app = Host(lambda: ConfirmScreen("Delete 300 messages?", body, danger=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        box = app.screen.query_one("#confirm-box")
        for button in ("#confirm-yes", "#confirm-no"):
            region = app.screen.query_one(button).region
            assert region.height > 0 and region.bottom <= box.region.bottom
        assert box.region.bottom <= 24
        await pilot.press("y")
        await pilot.pause()
        assert app.results == [True]


# --- PromptScreen with path completion --------------------------------------------


def path_prompt(value: str) -> Callable[[], PromptScreen]:
    return lambda: PromptScreen("Save as:", value=value, hint="A folder saves it there.", complete_paths=True)


def make_tree(root):
    (root / "alpha_one").mkdir()
    (root / "alpha_two.txt").write_text("x")
    (root / "beta.txt").write_text("x")
    (root / ".hidden").mkdir()


async def press_tab(app, pilot) -> None:
    await pilot.press("tab")
    await app.workers.wait_for_complete()  # the listing runs off the event loop
    await pilot.pause()


async def test_prompt_tab_completes_the_common_start_and_lists_the_candidates(tmp_path):
    make_tree(tmp_path)
    app = Host(path_prompt(f"{tmp_path}/al"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        field = app.screen.query_one(Input)
        await press_tab(app, pilot)
        assert field.value == f"{tmp_path}/alpha_"
        assert field.cursor_position == len(field.value)
        hint = text_of(app.screen.query_one("#prompt-hint"))
        assert "alpha_one/  alpha_two.txt" in hint
        assert "Tab completes" in hint
        assert app.focused is field  # Tab did not move the focus away
        await pilot.press("o")
        await press_tab(app, pilot)
        assert field.value == f"{tmp_path}/alpha_one/"
        assert "A folder saves it there." in text_of(app.screen.query_one("#prompt-hint"))
        await pilot.press(*"report.pdf", "enter")
        await pilot.pause()
        assert app.results == [f"{tmp_path}/alpha_one/report.pdf"]


async def test_prompt_tab_says_when_nothing_matches_and_keeps_the_text(tmp_path):
    make_tree(tmp_path)
    app = Host(path_prompt(f"{tmp_path}/zz"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await press_tab(app, pilot)
        assert app.screen.query_one(Input).value == f"{tmp_path}/zz"
        assert "No match." in text_of(app.screen.query_one("#prompt-hint"))
        assert app.results == []


async def test_prompt_tab_lists_at_most_eight_names_shown_literally(tmp_path):
    for i in range(11):
        (tmp_path / f"f{i:02}[red]x").write_text("")
    app = Host(path_prompt(f"{tmp_path}/f"))
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        await press_tab(app, pilot)
        assert app.screen.query_one(Input).value == f"{tmp_path}/f"  # f00.. f10 share only "f"
        first_line = text_of(app.screen.query_one("#prompt-hint")).splitlines()[0]
        assert first_line.split("  ") == [f"f{i:02}[red]x" for i in range(8)] + ["+3 more"]


async def test_prompt_tilde_stays_in_the_text(tmp_path, monkeypatch):
    make_tree(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    app = Host(path_prompt("~/be"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await press_tab(app, pilot)
        assert app.screen.query_one(Input).value == "~/beta.txt"


async def test_prompt_suggests_the_rest_of_a_unique_match(tmp_path):
    make_tree(tmp_path)
    app = Host(path_prompt(f"{tmp_path}/"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("b")
        await app.workers.wait_for_complete()
        await pilot.pause()
        field = app.screen.query_one(Input)
        assert field.value == f"{tmp_path}/b"
        await pilot.press("right")  # at the end of the text: accepts the suggestion
        assert field.value == f"{tmp_path}/beta.txt"


async def test_prompt_without_path_completion_keeps_tab_for_focus():
    app = Host(prompt("Projects/"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        field = app.screen.query_one(Input)
        assert field.suggester is None
        await pilot.press("tab")
        await pilot.pause()
        assert field.value == "Projects/"
        assert "Tab" not in text_of(app.screen.query_one("#prompt-hint"))
