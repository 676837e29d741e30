"""What the commands that talk to a server share: the client, one-line errors, JSON output,
and progress bars (on a terminal only).

Exit codes as elsewhere: 0 done, 1 refused or failed (the server said no, could not be
reached, or answered something that is not the wfa API), 2 bad usage (a WFA_URL that is not
a URL included).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from wfa.entrypoints.client import (
    ApiError,
    Client,
    InvalidServerUrl,
    ServerUnreachable,
    UnexpectedAnswer,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_json_option(parser: Any) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print the API's JSON (for scripts) instead of text"
    )


def run_remote(command: Callable[[Client], int], what: str = "") -> int:
    """Run a command with a client of WFA_URL; what it raises becomes one line on stderr.
    ``what`` names the thing a 404 was about when the server's detail does not."""
    try:
        with Client() as client:
            return command(client)
    except InvalidServerUrl as error:
        fail(f"WFA_URL={error.url!r} is not a URL: {error.reason}")
        return EXIT_USAGE
    except ServerUnreachable as error:
        reason = re.sub(r"^\[Errno -?\d+\] ", "", error.reason)
        fail(f"cannot reach the server at WFA_URL={error.url}: {reason}")
    except UnexpectedAnswer as error:
        fail(
            f"the server at WFA_URL={error.url} answered something that is not the wfa API "
            f"({error.what})"
        )
    except ApiError as error:
        fail(explain(error, what))
    except BrokenPipeError:  # the reader went away (``| head``): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_FAILED


def explain(error: ApiError, what: str = "") -> str:
    """One line for a problem the API answered with."""
    detail = error.detail or error.title
    if error.status == 401:
        if not os.environ.get("WFA_API_KEY"):
            return "the server wants an API key: set WFA_API_KEY"
        return f"the server refused the key in WFA_API_KEY (wrong or revoked): {detail}"
    if error.status == 403:
        return f"the key in WFA_API_KEY falls short of the scope this needs: {detail}"
    if error.status == 404 and what and what not in detail:
        return f"{what} not found ({detail})"
    said = detail if detail else f"HTTP {error.status} {error.title}"
    # What was wrong, when the detail does not already say it ("Validation failed for ...").
    untold = [str(problem) for problem in error.problems if problem.message not in detail]
    return "; ".join([said, *untold])


def fail(message: str) -> None:
    print(f"wfa: {message}", file=sys.stderr)


def print_json(value: Any) -> None:
    """Structs and plain data alike, as one JSON document on stdout."""
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value).decode(), indent=2) + "\n")


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr while the block runs (a terminal only); yields ``advance``."""
    if not stderr_is_terminal():
        yield lambda _steps: None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda steps: bar.advance(task, steps)


def table(rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the last column is not padded."""
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)
