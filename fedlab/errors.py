"""Expected errors, shown in one short line: `TypeName: message`.

The lessons show what TFF and fedlab refuse (a broadcast from the clients, a weighted factory
where an unweighted one is needed, a damaged checkpoint) by catching the error and printing it
short, so that the stored outputs hold no traceback. Written out in
`notebooks/00_can_clients_share_data.ipynb` (its first `try`/`except`); later lessons call
:func:`expect_error` and :func:`short_error`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import textwrap
from collections.abc import Mapping

from fedlab._checks import check_int

__all__ = ["Caught", "short_error", "expect_error"]

MIN_CHARS = 20  # room for a type name and a few words


def short_error(error: BaseException, max_chars: int = 240, *, first_line: bool = False,
                replace: Mapping[str, str] | None = None) -> str:
    """`TypeName: message` on one line of at most `max_chars` characters.

    The message is the error's `details()` where it has one (an error that comes back from
    TFF's worker process over gRPC), else `str(error)`. White space, line breaks included, is
    folded to single spaces; a line longer than `max_chars` is cut after a whole word and ends
    in " ...". Written out in `notebooks/00_can_clients_share_data.ipynb`.

    Args:
        error: The exception caught.
        max_chars: Longest line returned (>= 20).
        first_line: Keep only the message's first line (TFF's type errors go on with long
            type listings).
        replace: Text to replace in the message before it is shortened, e.g. a temporary
            folder's absolute path by a relative name, or a port by a site's name.
    """
    if not isinstance(error, BaseException):
        raise TypeError(f"error must be an exception, got {type(error).__name__}")
    max_chars = check_int("max_chars", max_chars, MIN_CHARS)
    if replace is not None and not isinstance(replace, Mapping):
        raise TypeError(f"replace must be a mapping of old text to new text, got "
                        f"{type(replace).__name__}")
    details = getattr(error, "details", None)
    message = details() if callable(details) else str(error)
    message = str(message)
    if first_line:
        message = message.splitlines()[0] if message.strip() else ""
    for old, new in (replace or {}).items():
        message = message.replace(str(old), str(new))
    line = " ".join(f"{type(error).__name__}: {message}".split())
    return textwrap.shorten(line, max_chars, placeholder=" ...")


@dataclasses.dataclass
class Caught:
    """What :func:`expect_error` caught: the exception and its :func:`short_error` line."""

    error: BaseException | None = None
    message: str = ""


@contextlib.contextmanager
def expect_error(*error_types: type[BaseException], max_chars: int = 240,
                 first_line: bool = False, replace: Mapping[str, str] | None = None):
    """Runs the `with` block, which must raise one of `error_types`; yields a :class:`Caught`.

    After the block, `caught.error` is the exception and `caught.message` its one-line
    :func:`short_error` (same keyword arguments). An error of another type passes through
    unchanged; a block that raises nothing fails with an `AssertionError`: the lesson it
    stood for no longer holds. Written out in `notebooks/00_can_clients_share_data.ipynb`.

    Example::

        with errors.expect_error(TypeError, first_line=True) as caught:
            tff.federated_broadcast(values_at_clients)
        print(caught.message)
    """
    if not error_types or not all(isinstance(t, type) and issubclass(t, BaseException)
                                  for t in error_types):
        raise TypeError(f"error_types must be one or more exception classes, got {error_types!r}")
    short_error(ValueError(), max_chars, replace=replace)  # checks the arguments before the block
    caught = Caught()
    try:
        yield caught
    except error_types as error:
        caught.error = error
        caught.message = short_error(error, max_chars, first_line=first_line, replace=replace)
    else:
        names = " or ".join(t.__name__ for t in error_types)
        raise AssertionError(f"expected {names}, but the block raised nothing")
