"""Files and folders that never lose data: atomic writes, exclusive folders, early checks.

Every result the project writes goes through here:

* :func:`atomic_path` / :func:`atomic_write`: the file is written under a temporary
  name in its own folder and renamed onto its final name only once complete
  (``os.replace`` is atomic on POSIX), so a kill or a Ctrl-C leaves either the old
  file or the new one, never a truncated one;
* :func:`exclusive_dir`: a new folder that no other process can also get (``mkdir``
  is atomic: two runs started in the same second get ``name`` and ``name-2``);
* :func:`check_output_dir`: refuses, before any computation, a path that is a file,
  that cannot be written, or a non-empty folder the user did not ask to overwrite.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> with atomic_write(root / "a.txt") as f:
...     _ = f.write("complete")
>>> (root / "a.txt").read_text(), sorted(p.name for p in root.iterdir())
('complete', ['a.txt'])
>>> exclusive_dir(root / "run").name, exclusive_dir(root / "run").name
('run', 'run-2')
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import IO, Any

__all__ = [
    "CLAIM_NAME",
    "atomic_path",
    "atomic_write",
    "check_output_dir",
    "claim_dir",
    "exclusive_dir",
    "missing_root",
    "release_dir",
    "write_json_rows",
    "write_rows",
]

CLAIM_NAME = ".noma-split-claim"
"""Marker file with which a command claims an existing empty folder (:func:`claim_dir`)."""


@contextlib.contextmanager
def atomic_path(path: str | PathLike[str]) -> Iterator[Path]:
    """A temporary path next to ``path``; renamed onto ``path`` when the block succeeds.

    The temporary name starts with a dot and keeps ``path``'s extension (libraries
    that pick a format from the extension, matplotlib and SB3, still work). On an
    exception (a Ctrl-C included) the temporary file is removed and ``path`` is left
    as it was. The data is flushed to disk before the rename.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}"
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a result is a normal file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_write(
    path: str | PathLike[str], mode: str = "w", **open_kwargs: Any
) -> Iterator[IO[Any]]:
    """``open(path, mode)`` whose content appears at ``path`` only once complete.

    ``mode`` is ``"w"`` (text, UTF-8 unless ``encoding`` is given) or ``"wb"``.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write.mode: got {mode!r}, allowed: 'w' or 'wb'")
    if mode == "w":
        open_kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path) as tmp, tmp.open(mode, **open_kwargs) as f:
        yield f


def write_rows(path: str | PathLike[str], rows: Sequence[Mapping[str, Any]]) -> Path:
    """Rows of equal keys as a CSV file with a header (the first row's keys), written
    atomically. Returns the path."""
    path = Path(path)
    with atomic_write(path, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_json_rows(path: str | PathLike[str], rows: Sequence[Mapping[str, Any]]) -> Path:
    """Rows as a JSON array of objects (NaN and infinities as null), written
    atomically. Returns the path."""
    path = Path(path)
    clean = [{k: _json_value(v) for k, v in row.items()} for row in rows]
    with atomic_write(path) as f:
        json.dump(clean, f, indent=1, allow_nan=False)
        f.write("\n")
    return path


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def exclusive_dir(base: str | PathLike[str]) -> Path:
    """Create and return a new folder ``base``, or ``base-2``, ``base-3``, ... if taken.

    The parents are created as needed. Safe against other processes doing the same
    at the same moment: each gets its own folder.
    """
    base = Path(base)
    base.parent.mkdir(parents=True, exist_ok=True)
    path, i = base, 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            i += 1
            path = base.with_name(f"{base.name}-{i}")


def claim_dir(path: str | PathLike[str], what: str, *, overwrite: bool = False) -> bool:
    """Take folder ``path`` for this command alone; True if it was created here.

    The folder is created if missing, then claimed with the marker file
    :data:`CLAIM_NAME`, created exclusively (atomic: of two commands given the same
    folder at the same moment, one gets it, the other an error), which
    :func:`release_dir` removes when the command is done. With ``overwrite`` an
    existing folder is used as it is.

    Raises:
        ValueError: another command took the folder first (one line).
    """
    path = Path(path)
    if overwrite:
        created = not path.exists()
        path.mkdir(parents=True, exist_ok=True)
        return created
    path.parent.mkdir(parents=True, exist_ok=True)
    created = False
    with contextlib.suppress(FileExistsError):
        path.mkdir()
        created = True
    try:  # whoever creates the marker owns the folder, whoever made the folder itself
        os.close(os.open(path / CLAIM_NAME, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        raise ValueError(f"{what}: {str(path)!r} is in use by another command") from None
    if [p.name for p in path.iterdir()] != [CLAIM_NAME]:  # filled since it was checked
        release_dir(path)
        raise ValueError(f"{what}: {str(path)!r} is not empty (another command wrote to it)")
    return created


def missing_root(path: str | PathLike[str]) -> Path | None:
    """The outermost folder of ``path`` (``path`` itself included) that does not exist
    yet, or None: what to remove to undo creating ``path``."""
    path = Path(path)
    root = None
    while not path.exists():
        root = path
        if path.parent == path:
            break
        path = path.parent
    return root


def release_dir(path: str | PathLike[str]) -> None:
    """Remove the claim marker of :func:`claim_dir` from ``path``, if there is one."""
    with contextlib.suppress(FileNotFoundError):
        (Path(path) / CLAIM_NAME).unlink()


def check_output_dir(
    path: str | PathLike[str], what: str, *, overwrite: bool = False, hint: str = ""
) -> Path:
    """Check, without creating anything, that results can be written to folder ``path``.

    Args:
        path: The folder (it need not exist yet).
        what: How the error names it, e.g. ``"--out"``.
        overwrite: Allow an existing non-empty folder.
        hint: How the user allows overwriting, appended to that error (e.g.
            ``"pass --overwrite to write into it"``).

    Raises:
        ValueError: ``path`` or one of its parents is not a folder, the nearest
            existing parent cannot be written, or ``path`` is a non-empty folder and
            ``overwrite`` is False. One line naming the path.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what}: {str(path)!r} exists and is not a folder")
    if path.is_dir() and not overwrite and any(path.iterdir()):
        extra = f"; {hint}" if hint else ""
        raise ValueError(f"{what}: {str(path)!r} is not empty{extra}")
    existing = path if path.is_dir() else path.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{what}: {str(path)!r} cannot be created: {str(existing)!r} is a file")
    try:  # a real write: os.access says yes to root even on a read-only filesystem
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".noma-split-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(
            f"{what}: {str(path)!r} is not writable ({str(existing)!r}: {exc.strerror})"
        ) from None
    return path
