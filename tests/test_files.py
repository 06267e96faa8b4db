"""Files that never lose data: atomic writes, exclusive and claimed folders."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from noma_split_env.files import (
    CLAIM_NAME,
    atomic_path,
    atomic_write,
    check_output_dir,
    claim_dir,
    exclusive_dir,
    release_dir,
)


def test_an_interrupted_write_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_text("old results")
    with pytest.raises(KeyboardInterrupt), atomic_write(path) as f:
        f.write("half of the new")
        raise KeyboardInterrupt
    assert path.read_text() == "old results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records.csv"]  # no temp left


def test_atomic_files_get_the_usual_permissions(tmp_path: Path) -> None:
    """mkstemp makes 0600 files; results are ordinary files (0666 less the umask)."""
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "model.zip") as tmp:
            assert tmp.suffix == ".zip" and tmp.name.startswith(".")
            tmp.write_bytes(b"zip")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "model.zip").stat().st_mode) == 0o644


def test_exclusive_dirs_from_many_threads_are_distinct(tmp_path: Path) -> None:
    made: list[Path] = []
    threads = [
        threading.Thread(target=lambda: made.append(exclusive_dir(tmp_path / "run")))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 8 and all(p.is_dir() for p in made)


def test_a_folder_is_claimed_by_one_command_only(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert claim_dir(out, "--out") is True  # created here
    with pytest.raises(ValueError, match="--out: .* is in use by another command"):
        claim_dir(out, "--out")
    release_dir(out)
    assert list(out.iterdir()) == []
    assert claim_dir(out, "--out") is False  # an existing empty folder: claimed, not made
    (out / "records.csv").write_text("x")
    release_dir(out)
    with pytest.raises(ValueError, match="is not empty"):
        claim_dir(out, "--out")
    assert not (out / CLAIM_NAME).exists()
    assert claim_dir(out, "--out", overwrite=True) is False


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda root: (root / "f").write_text("x") and root / "f", "is not a folder"),
        (lambda root: (root / "f").write_text("x") and root / "f" / "sub", "is a file"),
        (lambda root: Path("/proc/noma-split-test"), "is not writable"),
    ],
)
def test_bad_output_paths_are_named(tmp_path: Path, make, needle: str) -> None:
    path = make(tmp_path)
    with pytest.raises(ValueError, match=needle) as error:
        check_output_dir(path, "--out")
    assert "\n" not in str(error.value)
