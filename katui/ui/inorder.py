"""A text prompt whose editing keys act in the order they were typed."""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class InOrderInput(Input):
    """:class:`~textual.widgets.Input` that runs its own key bindings (backspace, ctrl+u, ctrl+w,
    the arrows, Enter...) when the key arrives.

    Textual runs a widget's ordinary bindings only once the key has bubbled up through each
    parent's message queue to the App; the keys typed behind it (tmux ``send-keys``, a paste, an
    ssh link delivering a burst) are in the Input's own queue and get typed in first: ``1 2
    BSpace 5`` left ``12``, not ``15``."""

    async def _on_key(self, event: events.Key) -> None:
        bindings = None if event.is_printable else self._bindings.key_to_bindings.get(event.key)
        if not bindings:
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()
        await self.run_action(bindings[0].action)
