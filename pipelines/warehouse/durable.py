"""Durable, atomic file operations: what publishing is made of.

Every replacement writes to a temporary name *beside* its target (same folder, so the same
filesystem), makes it durable (fsync of the file), renames it over the target with one
`rename(2)` (atomic) and makes the rename durable (fsync of the folder). Nothing is ever
renamed across folders that may sit on different filesystems: a file from elsewhere is linked
when the filesystem is the same and copied otherwise (a rename across filesystems fails with
EXDEV, which is how the previous published copy used to be lost).
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path


def fsync_file(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_tree(root: Path) -> None:
    """Every file and folder below `root`, and `root` itself (a fresh export folder)."""
    for folder, _, files in os.walk(root):
        for name in files:
            fsync_file(Path(folder) / name)
        fsync_dir(Path(folder))


def _temporary(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def replace_durably(temporary: Path, target: Path) -> None:
    """Rename `temporary` (a sibling of `target`) over `target` and make it durable."""
    os.replace(temporary, target)
    fsync_dir(target.parent)


def write_text_durably(target: Path, text: str) -> None:
    temporary = _temporary(target)
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    replace_durably(temporary, target)


def place_file(source: Path, target: Path) -> None:
    """Make `target` the same bytes as `source`, atomically and durably, whatever filesystems
    they are on: a hard link when they share one (no copy), a copy beside the target otherwise.
    `source` is left as it is."""
    temporary = _temporary(target)
    temporary.unlink(missing_ok=True)
    try:
        os.link(source, temporary)
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copyfile(source, temporary)
    fsync_file(temporary)
    replace_durably(temporary, target)


def link_durably(link: Path, target_name: str) -> None:
    """Point the symlink `link` at `target_name` (relative), atomically and durably."""
    temporary = _temporary(link)
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target_name)
    replace_durably(temporary, link)


def remove_durably(path: Path) -> None:
    if path.is_symlink() or path.exists():
        path.unlink()
        fsync_dir(path.parent)


def same_file(left: Path, right: Path) -> bool:
    try:
        return os.path.samefile(left, right)
    except FileNotFoundError:
        return False
