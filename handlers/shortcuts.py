"""Message shortcuts declared in manifest.yml.

Until a shortcut's feature is in this version, it is still answered: the person is told plainly
instead of Slack showing a failed-request error.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, App, Respond

NOT_YET = (
    "*{name}* isn't available in this version of Peershelf yet, so nothing was done. "
    "`/shelf help` lists what works today."
)

SHORTCUTS = {"save_to_shelf": "Save to shelf", "recommend_message": "Recommend…"}


def _answer_for(name: str) -> Callable[[Ack, Respond], None]:
    def answer(ack: Ack, respond: Respond) -> None:
        ack()
        respond(text=NOT_YET.format(name=name), response_type="ephemeral", replace_original=False)

    return answer


def register(app: App) -> None:
    for callback_id, name in SHORTCUTS.items():
        app.shortcut(callback_id)(_answer_for(name))
