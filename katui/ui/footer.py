"""The footer of every screen: Textual's, rebuilt once per refresh however often keys change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """:class:`~textual.widgets.Footer` that answers a burst of binding changes with one
    rebuild. Textual's queues a recompose per change: the main screen's mount, its first focus
    and the first listed rows made three before the first rows were drawn, each mounting and
    styling every key again (two restyles a key: ~60 before the first paint)."""

    _rebuild_queued = False

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

    async def _rebuild(self) -> None:
        self._rebuild_queued = False
        await self.recompose()
