"""A directory of archived enriched files (the legacy layout), resumable from a checkpoint.

Files are found recursively and processed in name order, so runs are reproducible and
the checkpoint stays meaningful; the reading and the checkpoint are
:class:`~connectors.sources.resumable.ResumableFiles`, shared with named files.
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from connectors.sources.lines import DEFAULT_MAX_LINE_BYTES, SourceError
from connectors.sources.resumable import CheckpointMismatch, ResumableFiles


def discover(root: Path, pattern: str = "*") -> list[Path]:
    """Every regular file under ``root`` matching ``pattern``, in relative-path order.

    Names starting with ``.`` or ``_`` (``_SUCCESS`` markers, ``.tmp`` files,
    ``_temporary`` directories) are skipped at any depth.
    """
    if not root.is_dir():
        raise SourceError(f"source directory {root} does not exist (or is not a directory)")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "_"))]
        for name in filenames:
            if name.startswith((".", "_")) or not fnmatch.fnmatch(name, pattern):
                continue
            path = Path(dirpath) / name
            if path.is_file():
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix().encode())


class DirSource(ResumableFiles):
    """Recursively read ``root`` in name order (plain and gzip), resumable from ``checkpoint``.

    Partitions (and checkpoint entries) are the files' paths relative to ``root``; the
    checkpoint records the root, so it cannot be applied to another directory.
    """

    def __init__(self, root: Path | str, *, checkpoint: Path | str | None = None, pattern: str = "*",
                 progress: str = "auto", progress_stream: TextIO | None = None,
                 checkpoint_interval_s: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.root = Path(root)
        self.description = f"dir: {self.root}"
        files = []
        for path in discover(self.root, pattern):
            rel = path.relative_to(self.root).as_posix()
            files.append((rel, rel, path))
        super().__init__(files, checkpoint=checkpoint, progress=progress, progress_stream=progress_stream,
                         progress_label="dir", checkpoint_interval_s=checkpoint_interval_s, clock=clock,
                         max_line_bytes=max_line_bytes)

    def _scope(self) -> dict[str, Any]:
        return {"root": str(self.root.resolve())}

    def _check_scope(self, data: dict[str, Any]) -> None:
        recorded_root = data["root"]
        if recorded_root != str(self.root.resolve()):
            raise CheckpointMismatch(f"checkpoint {self.checkpoint_path} belongs to a run over {recorded_root}, "
                                     f"not {self.root.resolve()}; use a separate checkpoint file per directory")
