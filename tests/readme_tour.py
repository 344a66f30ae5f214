"""Run the README tour: its ``sh tour`` blocks, in order, against a live demo stack.

The README is the first thing a new city IT person follows, so its commands are
tested as written. Conventions in the README, readable by a person too:

- A fenced block whose info string is ``sh tour`` is run; other blocks are prose.
- ``NAME=<what to put here>`` is a placeholder: a reader fills it in from what
  ``make demo`` printed or an earlier answer; the runner asks ``fill(NAME, calls)``.
- ``# → 201`` after a ``curl`` command (on its last line or the next line) is the
  HTTP status it answers; ``# → 201 or 200`` allows either. Without it, 2xx.

Blocks run one after another in ``bash -e -o pipefail`` with the variables the
earlier blocks set. ``curl`` is a shell function that calls the real curl and
records each exchange (status, method, URL, headers, body), so a test can check
statuses, what the tour covers, and fill placeholders from earlier answers;
``civicpulse`` and ``ogrinfo`` are recorded by their arguments.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

INFO = "sh tour"
_PLACEHOLDER = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)=<(?P<what>[^>]*)>(?P<rest>\s*(#.*)?)$")
_ASSIGNED = re.compile(r"^([A-Z][A-Z0-9_]*)=")
_EXPECT = re.compile(r"#\s*→\s*(?P<first>\d{3})(?P<more>(?:\s*(?:,\s*)?or\s+\d{3})*)")

# The curl every block sees: the real one, silent but for errors, each exchange
# written under $TOUR_DIR; the body still goes to stdout as a reader would see it.
_PRELUDE = r"""
curl() {
  local n
  n=$(( $(cat "$TOUR_DIR/count") + 1 ))
  echo "$n" > "$TOUR_DIR/count"
  command curl -sS -o "$TOUR_DIR/$n.body" -D "$TOUR_DIR/$n.head" \
    -w '%{http_code} %{method} %{url_effective}\n' "$@" >> "$TOUR_DIR/calls"
  cat "$TOUR_DIR/$n.body"
  echo
}
civicpulse() { echo "civicpulse $*" >> "$TOUR_DIR/commands"; command civicpulse "$@"; }
ogrinfo() { echo "ogrinfo $*" >> "$TOUR_DIR/commands"; command ogrinfo "$@"; }
"""


@dataclass(frozen=True)
class Block:
    """One ``sh tour`` block: where it starts in the README, and its text."""

    line: int
    code: str

    def commands(self) -> list[tuple[str, str]]:
        """Logical commands (continuation lines joined) with the note that follows each.

        A command's note is its trailing comment, else a comment on the line right after.
        """
        out: list[tuple[str, str]] = []
        pending, open_note = "", False
        for raw in self.code.splitlines():
            stripped = raw.strip()
            if not pending and stripped.startswith("#"):
                if open_note:
                    out[-1] = (out[-1][0], stripped)
                open_note = False
                continue
            if not pending and not stripped:
                open_note = False
                continue
            pending += raw.rstrip().removesuffix("\\") + " "
            if not raw.rstrip().endswith("\\"):
                command, comment = _split_comment(pending.strip())
                out.append((command, comment))
                pending, open_note = "", not comment
        return out

    def expected(self) -> list[set[int] | None]:
        """Expected statuses of the block's curl calls, in order (None: any 2xx)."""
        wanted: list[set[int] | None] = []
        for command, note in self.commands():
            if not command.startswith("curl "):
                continue
            match = _EXPECT.search(note)
            if match is None:
                wanted.append(None)
            else:
                wanted.append({int(match["first"]), *map(int, re.findall(r"\d{3}", match["more"]))})
        return wanted


def _split_comment(command: str) -> tuple[str, str]:
    """A command and its trailing ``# …`` comment (a ``#`` inside quotes is not one)."""
    quote = None
    for i, ch in enumerate(command):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or command[i - 1].isspace()):
            return command[:i].rstrip(), command[i:]
    return command, ""


def blocks(markdown: str) -> list[Block]:
    """The README's ``sh tour`` blocks in order."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    return [Block(t.map[0] + 1 if t.map else 0, t.content) for t in tokens
            if t.type == "fence" and t.info.strip() == INFO]


@dataclass
class Call:
    """One HTTP exchange the tour made."""

    status: int
    method: str
    url: str
    headers: str
    body: str

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class TourError(AssertionError):
    """The README tour does not hold; the message says where and why."""


@dataclass
class Tour:
    """Runs blocks in order, keeping the shell variables and the exchanges between them."""

    workdir: Path
    env: dict[str, str]
    fill: Callable[[str, list[Call]], str]
    cwd: Path
    calls: list[Call] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)

    def run(self, markdown: str, lines: tuple[int, int] | None = None) -> list[Call]:
        """Run the ``sh tour`` blocks of ``markdown`` (only those starting within ``lines``)."""
        found = blocks(markdown)
        if not found:
            raise TourError("the README has no ``sh tour`` block")
        for block in found:
            if lines is not None and not lines[0] <= block.line <= lines[1]:
                continue
            self.run_block(block)
        return self.calls

    def _filled(self, block: Block) -> str:
        lines = []
        for raw in block.code.splitlines():
            match = _PLACEHOLDER.match(raw.strip())
            if match:
                try:
                    value = self.fill(match["name"], self.calls)
                except (KeyError, IndexError, ValueError) as exc:
                    raise TourError(f"README line {block.line}: no value for placeholder "
                                    f"{match['name']}=<{match['what']}> ({exc!r})") from None
                raw = f"{match['name']}={shlex.quote(value)}"
            lines.append(raw)
        return "\n".join(lines)

    def run_block(self, block: Block) -> list[Call]:
        """Run one block; its curl statuses must be the annotated ones (else 2xx).

        A placeholder may name an answer earlier in the same block, so the block
        runs in pieces, each starting at a placeholder after some command.
        """
        pieces: list[list[str]] = [[]]
        for raw in block.code.splitlines():
            after_command = any(ln.strip() and not _PLACEHOLDER.match(ln.strip())
                                for ln in pieces[-1])
            if _PLACEHOLDER.match(raw.strip()) and after_command:
                pieces.append([])
            pieces[-1].append(raw)
        made: list[Call] = []
        for piece in pieces:
            made += self._run_piece(Block(block.line, "\n".join(piece) + "\n"))
        return made

    def _run_piece(self, block: Block) -> list[Call]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "count").write_text(str(len(self.calls)))
        (self.workdir / "calls").write_text("")
        (self.workdir / "commands").write_text("")
        names = sorted({*self.variables, *(m[1] for line in block.code.splitlines()
                                           if (m := _ASSIGNED.match(line.strip())))})
        restore = "".join(f"{k}={shlex.quote(v)}\n" for k, v in self.variables.items())
        keep = "".join(f'printf "%s\\0%s\\0" {k} "${{{k}-}}" >> "$TOUR_DIR/vars"\n'
                       for k in names)
        script = (f"{_PRELUDE}\n{restore}\n{self._filled(block)}\n"
                  f': > "$TOUR_DIR/vars"\n{keep}')
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script], cwd=self.cwd, capture_output=True,
            text=True, timeout=900, env={**self.env, "TOUR_DIR": str(self.workdir)},
        )
        where = f"README line {block.line}"
        if done.returncode:
            raise TourError(f"{where}: the block exited {done.returncode}\n--- stdout\n"
                            f"{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}")
        parts = (self.workdir / "vars").read_text().split("\0")
        self.variables = dict(zip(parts[0::2], parts[1::2], strict=False))
        self.commands += (self.workdir / "commands").read_text().splitlines()
        start = len(self.calls)
        for line in (self.workdir / "calls").read_text().splitlines():
            status, method, url = line.split(" ", 2)
            n = len(self.calls) + 1
            self.calls.append(Call(int(status), method, url,
                                   (self.workdir / f"{n}.head").read_text(errors="replace"),
                                   (self.workdir / f"{n}.body").read_text(errors="replace")))
        made = self.calls[start:]
        wanted = block.expected()
        if len(made) != len(wanted):
            raise TourError(f"{where}: {len(wanted)} curl commands but {len(made)} requests")
        for call, allowed in zip(made, wanted, strict=True):
            ok = (200 <= call.status < 300) if allowed is None else call.status in allowed
            if not ok:
                raise TourError(f"{where}: {call.method} {call.url} answered {call.status}, "
                                f"the README says {sorted(allowed) if allowed else '2xx'}:\n"
                                f"{call.body[:2000]}")
        return made


def missing(tour: Tour, requests: list[tuple[str, str, int]], commands: list[str]) -> list[str]:
    """What the tour should have done and did not.

    ``requests`` are (method, URL path regex, status); ``commands`` are regexes
    over the recorded ``civicpulse …``/``ogrinfo …`` command lines.
    """
    made = [(c.method, re.sub(r"^https?://[^/]+", "", c.url), c.status) for c in tour.calls]
    out = [f"{method} {pattern} → {status}" for method, pattern, status in requests
           if not any(m == method and re.fullmatch(pattern, p) and s == status
                      for m, p, s in made)]
    return out + [pattern for pattern in commands
                  if not any(re.fullmatch(pattern, line) for line in tour.commands)]
