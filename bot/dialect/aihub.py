"""Stream (dialect, standard) sentence pairs out of AI-Hub dialect label files.

Two layouts are understood, detected per file:

* 2020 regional speech sets (한국어 방언 발화 데이터, one set per region): an object with ``utterance``,
  a list of ``{"form", "standard_form", "dialect_form", ...}``.  The dialect side is ``dialect_form`` when
  it is non-empty, else ``form``; the standard side is ``standard_form``, else ``form``.
* Senior-speaker sets (중노년층 한국어 방언 데이터 (충청도, 전라도, 제주도)): an object with
  ``transcription.sentences[]`` holding ``dialect`` / ``pronunciation`` / ``standard``.  Files without
  sentences fall back to the file-level ``transcription.<source>`` / ``transcription.standard``.

Transcriber notation is cleaned the same way in both:

* ``(dialect)/(standard)`` double notation resolves to the side being built;
* ``{laughing}``-style noise/event tags are removed;
* ``&name1&``-style anonymisation tags become the placeholder ``○○`` on both sides;
* ``((…))`` / ``(())`` (unclear speech) drops the whole utterance (reason ``unclear``).

Pairs whose sides are equal once spacing and punctuation are ignored are dropped (``same``); so are pairs
with an empty side (``empty``).  Everything is a generator and only one file is in memory at a time, so a
download of several hundred thousand files streams through in constant memory.  Broken files are counted
in :class:`ImportStats` and skipped; they never end the run.  The module never prints: callers that want a
progress bar pass ``on_file``.
"""

from __future__ import annotations

import json
import os
import re
import stat
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from bot.dialect.scoring import normalise

__all__ = [
    "PLACEHOLDER",
    "REGIONS",
    "AIHubFormatError",
    "DialectPair",
    "ImportStats",
    "Source",
    "guess_region",
    "iter_label_files",
    "iter_pairs",
    "read_file_pairs",
]

Source = Literal["dialect", "pronunciation"]
Side = Literal["dialect", "standard"]

PLACEHOLDER: Final = "○○"
DROP_REASONS: Final = ("same", "unclear", "empty")
REGIONS: Final = ("jeju", "gyeongsang", "jeolla", "chungcheong", "gangwon")

# Label files are a few MB at most; anything far bigger is not a label file and would only eat memory.
MAX_FILE_BYTES: Final = 64 * 1024 * 1024
MAX_SKIPPED_LISTED: Final = 100

_DOUBLE_RE: Final = re.compile(r"\(([^()]*)\)\s*/\s*\(([^()]*)\)")
_UNCLEAR_RE: Final = re.compile(r"\(\([^()]*\)\)")
_NOISE_RE: Final = re.compile(r"\{[^{}]*\}")
_ANON_RE: Final = re.compile(r"&[^&\s]{1,40}&")
# A lone "(word)" left after the double notation is resolved carries no meaning we know of; keep the
# word, lose the brackets, so stray parentheses never reach a training set or a game prompt.
_BARE_PARENS_RE: Final = re.compile(r"\(([^()]*)\)")

# Region names as they appear in AI-Hub folder names and metadata. Province stems only: city names such
# as 광주 or 대전 are ambiguous (경기도 광주시) or too likely to match unrelated path parts.
_REGION_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "jeju": ("제주", "jeju", "cheju"),
    "gyeongsang": ("경상", "경남", "경북", "gyeongsang", "kyungsang", "kyeongsang"),
    "jeolla": ("전라", "전남", "전북", "jeolla", "jeonla", "cheolla", "jeonra"),
    "chungcheong": ("충청", "충남", "충북", "chungcheong", "chungchung"),
    "gangwon": ("강원", "gangwon", "kangwon"),
}


class AIHubFormatError(ValueError):
    """A file that is not a readable AI-Hub dialect label file; ``reason`` is a short description."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class DialectPair:
    dialect: str
    standard: str
    source_file: str
    region: str | None


@dataclass
class ImportStats:
    files_read: int = 0
    files_skipped: Counter[str] = field(default_factory=Counter)
    # First MAX_SKIPPED_LISTED broken files as (path, reason), so a report can name some without growing.
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    pairs_kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)

    def record_skip(self, path: Path, reason: str) -> None:
        self.files_skipped[reason] += 1
        if len(self.skipped_files) < MAX_SKIPPED_LISTED:
            self.skipped_files.append((str(path), reason))

    def summary(self) -> str:
        skipped = sum(self.files_skipped.values())
        dropped = sum(self.dropped.values())
        lines = [
            f"Files read: {self.files_read}",
            f"Files skipped: {skipped}" + _breakdown(self.files_skipped),
            f"Pairs kept: {self.pairs_kept}",
            f"Pairs dropped: {dropped}" + _breakdown(self.dropped),
        ]
        if self.skipped_files:
            shown = len(self.skipped_files)
            more = f" (first {shown} of {skipped})" if skipped > shown else ""
            lines.append(f"Skipped files{more}:")
            lines.extend(f"  {name}: {reason}" for name, reason in self.skipped_files)
        return "\n".join(lines)


def _breakdown(counts: Counter[str]) -> str:
    if not counts:
        return ""
    parts = ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return f" ({parts})"


# --------------------------------------------------------------------------------------------- files


def _ignored_name(name: str) -> bool:
    # Hidden entries and macOS archive debris (__MACOSX/, ._foo.json resource forks) are not label files;
    # counting them as "broken" would only bury the real problems in the summary.
    return name.startswith(".") or name == "__MACOSX"


def _walk(directory: Path, seen: set[tuple[int, int]]) -> Iterator[Path]:
    try:
        st = directory.stat()
    except OSError:
        return
    key = (st.st_dev, st.st_ino)
    if key in seen:  # a symlink loop or the same folder given twice
        return
    seen.add(key)
    try:
        with os.scandir(directory) as it:
            # Only this folder's names are held (needed to sort); deeper folders are read when reached.
            entries = sorted((e.name, _is_dir(e)) for e in it if not _ignored_name(e.name))
    except OSError:
        return
    for name, is_dir in entries:
        child = directory / name
        if is_dir:
            yield from _walk(child, seen)
        elif name.lower().endswith(".json"):
            yield child


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def iter_label_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield label files: folders are walked recursively in name order (``*.json``), files pass through.

    Paths that do not exist pass through as files, so reading them records a skip instead of vanishing.
    """
    seen: set[tuple[int, int]] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from _walk(path, seen)
        else:
            yield path


# ------------------------------------------------------------------------------------------ notation


def _clean(text: str, side: Side) -> str:
    """Resolve double notation to ``side``, drop noise tags, neutralise anonymisation, tidy spacing."""
    group = 1 if side == "dialect" else 2
    text = unicodedata.normalize("NFC", text)
    text = _DOUBLE_RE.sub(lambda m: m.group(group), text)
    text = _NOISE_RE.sub(" ", text)
    text = _ANON_RE.sub(PLACEHOLDER, text)
    text = _BARE_PARENS_RE.sub(r"\1", text)
    return " ".join(text.split())


def _is_unclear(*texts: str | None) -> bool:
    return any(t is not None and _UNCLEAR_RE.search(t) is not None for t in texts)


def _same(dialect: str, standard: str) -> bool:
    return normalise(dialect).replace(" ", "") == normalise(standard).replace(" ", "")


def _str_field(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise AIHubFormatError(f"wrong types: {where}.{key} is {type(value).__name__}")


def _nonblank(value: str | None) -> str | None:
    return value if value is not None and value.strip() else None


class _FilePairs:
    """Collects one file's pairs and drop counts."""

    def __init__(self, path: Path, region: str | None) -> None:
        self.source_file = str(path)
        self.region = region
        self.pairs: list[DialectPair] = []
        self.dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)

    def add(self, dialect_raw: str | None, standard_raw: str | None, *all_raw: str | None) -> None:
        if _is_unclear(dialect_raw, standard_raw, *all_raw):
            self.dropped["unclear"] += 1
            return
        dialect = _clean(dialect_raw or "", "dialect")
        standard = _clean(standard_raw or "", "standard")
        if not normalise(dialect) or not normalise(standard):
            self.dropped["empty"] += 1
        elif _same(dialect, standard):
            self.dropped["same"] += 1
        else:
            self.pairs.append(DialectPair(dialect, standard, self.source_file, self.region))


def _read_regional(doc: dict[str, Any], out: _FilePairs) -> None:
    utterances = doc["utterance"]
    if not isinstance(utterances, list):
        raise AIHubFormatError("wrong types: utterance is not a list")
    for i, utt in enumerate(utterances):
        if not isinstance(utt, dict):
            raise AIHubFormatError(f"wrong types: utterance[{i}] is not an object")
        where = f"utterance[{i}]"
        form = _str_field(utt, "form", where)
        dialect_form = _str_field(utt, "dialect_form", where)
        standard_form = _str_field(utt, "standard_form", where)
        out.add(_nonblank(dialect_form) or form, _nonblank(standard_form) or form, form)


def _read_senior(doc: dict[str, Any], source: Source, out: _FilePairs) -> None:
    transcription = doc["transcription"]
    if not isinstance(transcription, dict):
        raise AIHubFormatError("wrong types: transcription is not an object")
    sentences = transcription.get("sentences")
    if sentences is not None and not isinstance(sentences, list):
        raise AIHubFormatError("wrong types: transcription.sentences is not a list")
    if sentences:
        for i, sentence in enumerate(sentences):
            if not isinstance(sentence, dict):
                raise AIHubFormatError(f"wrong types: sentences[{i}] is not an object")
            where = f"sentences[{i}]"
            fields = {k: _str_field(sentence, k, where) for k in ("dialect", "pronunciation", "standard")}
            out.add(fields[source], fields["standard"], *fields.values())
        return
    where = "transcription"
    fields = {k: _str_field(transcription, k, where) for k in ("dialect", "pronunciation", "standard")}
    out.add(fields[source], fields["standard"], *fields.values())


def _load(path: Path) -> Any:
    try:
        st = path.stat()  # through a symlink: what would be read
    except FileNotFoundError:
        raise AIHubFormatError("not found") from None
    except OSError as exc:
        raise AIHubFormatError(f"unreadable ({type(exc).__name__})") from None
    if not stat.S_ISREG(st.st_mode):
        # A FIFO would hang the import, a device (/dev/zero) never end: only regular files are read.
        raise AIHubFormatError("not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        raise AIHubFormatError("too large")
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise AIHubFormatError(f"unreadable ({type(exc).__name__})") from None
    if len(data) > MAX_FILE_BYTES:
        raise AIHubFormatError("too large")
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise AIHubFormatError("not UTF-8") from None
    except (ValueError, RecursionError):
        # Broken JSON, nesting too deep, or a number too long for Python to read (over 4,300 digits).
        raise AIHubFormatError("invalid JSON") from None


def read_file_pairs(path: Path, source: Source = "dialect") -> tuple[list[DialectPair], dict[str, int]]:
    """Kept pairs and drop counts (``same``/``unclear``/``empty``) of one label file.

    Raises :class:`AIHubFormatError` for a file that cannot be read as either layout.
    """
    if source not in ("dialect", "pronunciation"):
        raise ValueError(f"unknown source field {source!r}")
    path = Path(path)
    doc = _load(path)
    if not isinstance(doc, dict):
        raise AIHubFormatError(f"not a JSON object ({type(doc).__name__})")
    out = _FilePairs(path, guess_region(path, doc))
    if "utterance" in doc:
        _read_regional(doc, out)
    elif "transcription" in doc:
        _read_senior(doc, source, out)
    else:
        raise AIHubFormatError("unknown layout")
    return out.pairs, out.dropped


def iter_pairs(
    paths: Iterable[Path],
    *,
    source: Source = "dialect",
    stats: ImportStats | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> Iterator[DialectPair]:
    """Stream cleaned pairs from files and folders, one file in memory at a time.

    ``on_file`` is called with each label file just before it is read (for progress bars); ``stats``, when
    given, is updated as the stream is consumed.
    """
    if source not in ("dialect", "pronunciation"):
        raise ValueError(f"unknown source field {source!r}")
    stats = stats if stats is not None else ImportStats()
    for path in iter_label_files(paths):
        if on_file is not None:
            on_file(path)
        try:
            pairs, dropped = read_file_pairs(path, source)
        except AIHubFormatError as exc:
            stats.record_skip(path, exc.reason)
            continue
        stats.files_read += 1
        stats.dropped.update({k: v for k, v in dropped.items() if v})
        for pair in pairs:
            stats.pairs_kept += 1
            yield pair


# -------------------------------------------------------------------------------------------- region


def _regions_in(text: str) -> set[str]:
    folded = unicodedata.normalize("NFC", text).casefold()
    return {region for region, words in _REGION_WORDS.items() if any(w in folded for w in words)}


def _unique_region(texts: Iterable[str]) -> str | None:
    """The region of the first text that names exactly one; texts naming several are ambiguous."""
    for text in texts:
        found = _regions_in(text)
        if len(found) == 1:
            return found.pop()
    return None


def _metadata_strings(doc: dict[str, Any]) -> Iterator[str]:
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        return
    for value in meta.values():
        if isinstance(value, str):
            yield value
        elif isinstance(value, list):
            yield from (v for v in value if isinstance(v, str))
        elif isinstance(value, dict):
            yield from (v for v in value.values() if isinstance(v, str))


def _speaker_provinces(doc: dict[str, Any]) -> Iterator[str]:
    speakers = doc.get("speaker")
    if isinstance(speakers, list):
        for speaker in speakers:
            if isinstance(speaker, dict) and isinstance(speaker.get("residenceProvince"), str):
                yield speaker["residenceProvince"]


def guess_region(path: Path, doc: dict[str, Any]) -> str | None:
    """jeju/gyeongsang/jeolla/chungcheong/gangwon from metadata, the path, or the speakers, else None.

    Metadata is checked first, then path parts from the file name outwards (so the region folder wins
    over a parent like "중노년층 한국어 방언 데이터 (충청도, 전라도, 제주도)", which names several and is
    skipped as ambiguous), then the senior sets' speaker residence provinces when they all agree.
    """
    region = _unique_region(_metadata_strings(doc))
    if region is None:
        region = _unique_region(reversed(Path(path).parts))
    if region is None:
        provinces = {r for p in _speaker_provinces(doc) for r in _regions_in(p)}
        if len(provinces) == 1:
            region = provinces.pop()
    return region
