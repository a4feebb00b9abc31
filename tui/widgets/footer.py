"""The footer every full screen shows: the keys that work now, wrapped onto a second line
when the terminal is too narrow for one, so that no key is ever cut off.

Textual's own footer is one scrolling line: at 80 columns the app's keys fall off its
right end. This one packs whole "key description" pairs greedily into lines as wide as
the terminal.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

MAX_LINES = 3


class ConsoleFooter(Widget):
    """The active bindings with `show`, one entry per action, then the palette key."""

    DEFAULT_CSS = """
    ConsoleFooter { dock: bottom; height: auto; max-height: 3;
        background: $footer-background; color: $footer-description-foreground; }
    ConsoleFooter > .console-footer--key { color: $footer-key-foreground;
        text-style: bold; }
    ConsoleFooter > .console-footer--disabled { color: $text-disabled; }
    """
    COMPONENT_CLASSES = {"console-footer--key", "console-footer--disabled"}
    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: object) -> None:
        self.refresh(layout=True)

    def entries(self) -> list[tuple[str, str, bool]]:
        """(key as shown, description, enabled) of every key the footer offers now."""
        app = self.app
        out: list[tuple[str, str, bool]] = []
        seen: set[str] = set()
        palette = None
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if key == app.COMMAND_PALETTE_BINDING:
                palette = (app.get_key_display(binding), "palette", active.enabled)
                continue
            if not binding.show or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            out.append((app.get_key_display(binding), binding.description, active.enabled))
        if palette is not None and app.ENABLE_COMMAND_PALETTE:
            out.append(palette)
        return out

    def lines(self, width: int) -> list[Text]:
        """The entries packed into lines of at most `width` cells (at most MAX_LINES)."""
        key_style = self.get_component_rich_style("console-footer--key", partial=True)
        off_style = self.get_component_rich_style("console-footer--disabled", partial=True)
        lines: list[Text] = []
        line = Text()
        for key, description, enabled in self.entries():
            entry = Text.assemble((key, key_style if enabled else off_style), " ",
                                  (description, Style() if enabled else off_style))
            if line and line.cell_len + 2 + entry.cell_len > width - 2:
                lines.append(line)
                line = Text()
            if line:
                line.append("  ")
            line.append_text(entry)
        if line:
            lines.append(line)
        return lines[:MAX_LINES]

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return max(1, len(self.lines(width)))

    def render(self) -> Text:
        text = Text(" ", end="")
        text.append_text(Text("\n ").join(self.lines(self.size.width)))
        text.no_wrap = True
        return text
