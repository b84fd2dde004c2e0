"""The footer of every screen: Textual's, rebuilt once per refresh however often keys change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """:class:`~textual.widgets.Footer` that answers a burst of binding changes with one
    rebuild. Textual's queues a recompose per change: the main screen's mount, its first focus
    and the first listed rows made three before the first rows were drawn, each mounting and
    styling every key again (two restyles a key: ~60 before the first paint). A rebuild that
    would draw the same keys is skipped (the one when the analysis arrives: ~25 ms)."""

    _rebuild_queued = False
    _built: tuple | None = None
    """What the keys drawn were drawn from (see :meth:`_shown`)."""

    def __init__(self, held: bool = False) -> None:
        super().__init__()
        self._held = held
        """No keys drawn until :meth:`release`: the main screen's first rows come first (its
        keys cost ~25 ms of styling, ~50 on a busy machine, that the first paint waited for)."""

    def release(self) -> None:
        """Draw the keys from now on (idempotent)."""
        if self._held:
            self._held = False
            if self.is_attached:  # from the footer's own queue: its keys bind to its reactives
                self.call_later(self.bindings_changed, self.screen)

    def bindings_changed(self, screen: Screen) -> None:
        # Footer.bindings_changed, with the queued rebuild remembered: it reads the bindings
        # as they are when it runs, so later changes before it need no rebuild of their own.
        self._bindings_ready = True
        if self._held or self._rebuild_queued or not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self._rebuild_queued = True
            self.call_after_refresh(self._rebuild)

    def _shown(self) -> tuple:
        """What Footer.compose draws the keys from: the screen's active bindings (with their
        enabled state and tooltip), how each key is displayed, the footer's own options."""
        app = self.app
        keys = tuple((b, enabled, tip, app.get_key_display(b))
                     for _node, b, enabled, tip in self.screen.active_bindings.values())  # fmt: skip
        return keys, self.compact, self.show_command_palette, app.ENABLE_COMMAND_PALETTE

    async def _rebuild(self) -> None:
        self._rebuild_queued = False
        if not self.is_attached:  # its screen was dismissed meanwhile
            return
        shown = self._shown()
        if shown == self._built:  # e.g. when the main screen's analysis arrives (keys typed
            return  # while loading were accepted already): ~25 ms of mounting for nothing
        self._built = shown
        await self.recompose()
