"""The one error type actions raise when a request cannot be carried out.

Edges turn it into their own answer: the API into `{"detail", "code", ...}` with `status`,
pages into a form error. `detail` is a lazy translation, rendered in the caller's language.
"""

from __future__ import annotations

from typing import Any


class ActionRefused(Exception):
    def __init__(self, code: str, detail: Any, *, status: int = 422, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.status = status
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        return {"detail": str(self.detail), "code": self.code, **self.extra}
