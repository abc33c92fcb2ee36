"""Content hashes of weight files, and the memory of which files were already verified.

Both the Hub download path (:mod:`zoo.hub`) and saved folders (:mod:`zoo.serialization`) check
files against a sha256; neither needs the other for it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def zoo_cache_dir() -> Path:
    if os.environ.get("ZOO_CACHE"):
        return Path(os.environ["ZOO_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zoo"


def sha256_of(path: str | Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _stamp_path(sha256: str) -> Path:
    return zoo_cache_dir() / "verified" / f"{sha256}.json"


def _fingerprint(path: Path) -> dict:
    real = path.resolve()
    stat = real.stat()
    return {"path": str(real), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}


def verify_file(path: str | Path, sha256: str, *, full: bool = False) -> bool:
    """Whether ``path`` has content ``sha256``.

    A file is hashed once; the result is remembered with the file's size, mtime and inode, so a
    warm load does not re-hash, while any write to the file (a truncation, an overwrite) forces a
    new hash. ``full=True`` always hashes (``zoo download --verify``, ``zoo doctor``).
    """
    path = Path(path)
    stamp = _stamp_path(sha256)
    fingerprint = _fingerprint(path)
    if not full and stamp.exists():
        try:
            if json.loads(stamp.read_text()) == fingerprint:
                return True
        except (OSError, ValueError):
            pass
    if sha256_of(path) != sha256:
        return False
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        # written aside and renamed, so a process reading the stamp never sees half of it
        partial = stamp.with_name(f"{stamp.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(fingerprint))
        os.replace(partial, stamp)
    except OSError:  # a read-only cache only costs a re-hash next time
        pass
    return True
