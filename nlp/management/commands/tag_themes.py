"""tag_themes [--input PATH|-] [--output PATH|-] [--skip-invalid]: JSON Lines in, themes out.

Input lines: {"id": ..., "text": "..."}. Output: one JSON object per input record, in input
order (see shared/spec/interfaces.md). A malformed line stops the command before anything is
written, with a one-line error naming the file, line and field; with --skip-invalid it is
reported on stderr with its line number and skipped. Blank lines are not records.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from nlp.pipeline import TAG_BATCH_CHARS, TAG_BATCH_TEXTS, TaggerInputError, clean_text
from nlp.services.themes import themes_tag_texts


@dataclass
class _Record:
    line: int
    id: Any
    text: str


class _LineError(ValueError):
    pass


def _parse(line_bytes: bytes, *, number: int, name: str) -> _Record | None:
    where = f"{name} line {number}"
    try:
        line = line_bytes.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError:
        raise _LineError(f"{where}: not valid UTF-8") from None
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _LineError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise _LineError(f"{where}: invalid JSON (nested too deeply)") from None
    if not isinstance(obj, dict):
        raise _LineError(f"{where}: expected a JSON object with 'id' and 'text'")
    if "id" not in obj:
        raise _LineError(f"{where}: field 'id' is missing")
    record_id = obj["id"]
    if isinstance(record_id, bool) or not isinstance(record_id, str | int):
        raise _LineError(f"{where}: field 'id' must be a string or an integer")
    if "text" not in obj:
        raise _LineError(f"{where}: field 'text' is missing")
    try:
        text = clean_text(obj["text"])
    except TaggerInputError as exc:
        raise _LineError(f"{where}: field 'text': {exc}") from None
    return _Record(number, record_id, text)


class Command(BaseCommand):
    help = "Tag texts with safeguarding themes: JSON Lines {id, text} in, {id, themes, negated} out."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", default="-", help="JSON Lines file, or - for standard input (default).")
        parser.add_argument("--output", default="-", help="Output file, or - for standard output (default).")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Report malformed lines on stderr with their line number and go on (default: stop).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=TAG_BATCH_TEXTS,
            help=f"Most texts per tagging batch (default {TAG_BATCH_TEXTS}; a batch also stops at "
            f"{TAG_BATCH_CHARS:,} characters).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["input"]
        name = "<stdin>" if source == "-" else source
        raw = self._read(source)
        records: list[_Record] = []
        skipped: list[int] = []
        for number, line_bytes in enumerate(raw.splitlines(), start=1):
            try:
                record = _parse(line_bytes, number=number, name=name)
            except _LineError as exc:
                if not options["skip_invalid"]:
                    raise CommandError(str(exc)) from None
                skipped.append(number)
                self.stderr.write(f"skipped {exc}")
                continue
            if record is not None:
                records.append(record)
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        self._write(options["output"], self._lines(records, batch_size=options["batch_size"]))
        summary = f"Tagged {len(records)} text(s)"
        if skipped:
            summary += f"; skipped {len(skipped)} invalid line(s): {', '.join(map(str, skipped))}"
        self.stderr.write(summary)

    def _read(self, source: str) -> bytes:
        if source == "-":
            return sys.stdin.buffer.read()
        try:
            return Path(source).read_bytes()
        except FileNotFoundError:
            raise CommandError(f"{source}: file not found") from None
        except OSError as exc:
            raise CommandError(f"{source}: cannot read ({exc.strerror})") from None

    def _lines(self, records: list[_Record], *, batch_size: int) -> Iterator[str]:
        results = themes_tag_texts(texts=(r.text for r in records), batch_size=batch_size)
        progress = tqdm(total=len(records), unit="text", disable=not sys.stderr.isatty(), file=sys.stderr)
        with progress:
            for record, result in zip(records, results, strict=True):
                progress.update(1)
                yield json.dumps(result.as_dict(record.id), ensure_ascii=False) + "\n"

    def _write(self, target: str, lines: Iterator[str]) -> None:
        if target == "-":
            for line in lines:
                self.stdout.write(line, ending="")
            self.stdout.flush()
            return
        path = Path(target)
        if not path.parent.is_dir():
            raise CommandError(f"{target}: folder does not exist")
        # Write beside the target and rename, so a failure leaves no partial output file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.writelines(lines)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
