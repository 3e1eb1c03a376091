"""fedlab.errors: an expected error caught and shown as one short `TypeName: message` line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedlab import errors


class _GrpcLikeError(Exception):
    def details(self):
        return "assertion failed: value larger than maximum\n  more detail"


def test_a_short_message_is_shown_whole_after_its_type_name():
    assert errors.short_error(ValueError("x must be 2-D")) == "ValueError: x must be 2-D"


def test_white_space_and_line_breaks_fold_to_single_spaces():
    error = TypeError("The value should be placed at SERVER,\n   but it is placed at CLIENTS.")
    assert errors.short_error(error) == (
        "TypeError: The value should be placed at SERVER, but it is placed at CLIENTS.")


def test_first_line_drops_the_rest_of_the_message():
    error = TypeError("Cannot place value.\n<long type listing>\nmore")
    assert errors.short_error(error, first_line=True) == "TypeError: Cannot place value."
    assert errors.short_error(TypeError(""), first_line=True) == "TypeError:"


def test_a_long_message_is_cut_after_a_whole_word_with_an_ellipsis():
    error = RuntimeError("word " * 100)
    line = errors.short_error(error, max_chars=50)
    assert len(line) <= 50 and line.endswith(" ...") and line.startswith("RuntimeError: word")
    assert "wor ..." not in line


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=400), max_chars=st.integers(20, 300))
def test_the_line_is_never_longer_than_max_chars_and_has_no_line_break(text, max_chars):
    line = errors.short_error(ValueError(text), max_chars=max_chars)
    assert len(line) <= max_chars and "\n" not in line


def test_an_error_from_the_worker_shows_its_details():
    line = errors.short_error(_GrpcLikeError("<grpc status dump>"), first_line=True)
    assert line == "_GrpcLikeError: assertion failed: value larger than maximum"


def test_replace_hides_machine_paths_before_shortening():
    error = FileNotFoundError("/tmp/fedlab09_abc/state/program_state_3 is missing")
    line = errors.short_error(error, replace={"/tmp/fedlab09_abc/": ""})
    assert line == "FileNotFoundError: state/program_state_3 is missing"


@pytest.mark.parametrize("kwargs, error, words", [
    ({"max_chars": 19}, ValueError, "max_chars must be an integer >= 20"),
    ({"max_chars": 40.0}, TypeError, "max_chars must be an integer >= 20"),
    ({"replace": [("a", "b")]}, TypeError, "replace must be a mapping"),
])
def test_bad_arguments_are_refused_by_name(kwargs, error, words):
    with pytest.raises(error, match=words):
        errors.short_error(ValueError("boom"), **kwargs)


def test_something_that_is_not_an_exception_is_refused():
    with pytest.raises(TypeError, match="error must be an exception, got str"):
        errors.short_error("ValueError: boom")


def test_expect_error_catches_the_expected_type_and_keeps_it():
    with errors.expect_error(ValueError, KeyError, max_chars=30) as caught:
        raise KeyError("a very long key name that goes on and on")
    assert isinstance(caught.error, KeyError)
    assert caught.message.startswith("KeyError: ") and len(caught.message) <= 30


def test_expect_error_fails_when_the_block_raises_nothing():
    expected = "expected TypeError or ValueError, but the block raised nothing"
    with pytest.raises(AssertionError, match=expected):
        with errors.expect_error(TypeError, ValueError):
            pass


def test_expect_error_lets_an_unexpected_type_through():
    with pytest.raises(ZeroDivisionError):
        with errors.expect_error(TypeError):
            1 / 0


@pytest.mark.parametrize("types", [(), ("TypeError",), (int,)])
def test_expect_error_needs_exception_classes(types):
    with pytest.raises(TypeError, match="error_types must be one or more exception classes"):
        with errors.expect_error(*types):
            raise TypeError("never reached")


def test_expect_error_checks_its_arguments_before_running_the_block():
    ran = []
    with pytest.raises(ValueError, match="max_chars must be an integer >= 20"):
        with errors.expect_error(TypeError, max_chars=5):
            ran.append(True)
    assert ran == []
