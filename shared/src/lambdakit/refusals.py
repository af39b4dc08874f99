"""What the logic says when it will not do what a caller asked. Plain exceptions: no HTTP, no AWS.

`lambdakit.http` turns each kind into its status code, in one place; the message is for
the caller, so it never carries internals.
"""

from __future__ import annotations


class Refusal(Exception):
    """The request cannot be served as asked; retrying it unchanged gives the same answer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(Refusal):
    """Something the caller sent is malformed or out of range."""


class NotFound(Refusal):
    """No such thing for this caller (another user's video looks the same as none)."""


class Conflict(Refusal):
    """The thing is not in the state the request needs (for example: the upload is no longer in progress)."""


class TooLarge(Refusal):
    """What the caller sent is bigger than this system accepts."""
