"""The Graph progress display: a live line on a terminal, log lines otherwise, quiet is quiet."""

from __future__ import annotations

import io

from generator.sources.graph.progress import Progress
from generator.sources.graph.throttle import retry_after


def test_a_terminal_gets_one_updating_status_line() -> None:
    stream = io.StringIO()
    progress = Progress(stream, verbosity=1, live=True)
    progress.add(groups=3, requests=2)
    progress.update(force=True)
    progress.info("graph: 3 groups selected")
    progress.close()
    text = stream.getvalue()
    assert text.startswith("\r\x1b[Kgraph: 3 groups, 0 member lists, 0 memberships")
    assert "\r\x1b[Kgraph: 3 groups selected\n" in text
    assert text.endswith("\r\x1b[K")


def test_a_pipe_gets_plain_log_lines_and_pauses_only_when_verbose() -> None:
    normal, verbose = io.StringIO(), io.StringIO()
    for stream, verbosity in ((normal, 1), (verbose, 2)):
        progress = Progress(stream, verbosity=verbosity, live=False)
        progress.add(groups=3)
        progress.pause(2.128, "429 TooManyRequests", 20)
        for _ in range(20):
            progress.retry()
        progress.info("graph: done")
        progress.close()
    assert normal.getvalue() == "graph: done\n"
    assert verbose.getvalue() == (
        "graph: pausing 2.13 s (429 TooManyRequests); 20 requests to send again\ngraph: done\n"
    )


def test_the_status_line_shows_the_pace_and_the_throttled_waits() -> None:
    progress = Progress(io.StringIO(), verbosity=1, live=True)
    progress.add(resource_units=700, requests=350)
    progress.pause(1.5, "429 TooManyRequests", 3)
    progress.pause(0.5, "429 TooManyRequests", 1)
    assert progress.pace(elapsed=2.0) == "350 RU/s, 2 throttled waits (2.0 s)"
    assert "350 requests, " in progress.status()


def test_quiet_writes_nothing() -> None:
    stream = io.StringIO()
    progress = Progress(stream, verbosity=0, live=True)
    progress.add(groups=1)
    progress.info("x")
    progress.warn("y")
    progress.close()
    assert stream.getvalue() == ""


def test_retry_after_takes_seconds_or_a_date_and_backs_off_without_one() -> None:
    assert retry_after({"Retry-After": "7"}, 1) == 7.0
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 1) == 0.0
    assert [retry_after({}, n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
