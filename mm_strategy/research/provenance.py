"""Where a results row came from: the code that ran it and the catalog files it read.

A resumed sweep reuses finished rows by run id, and the run id hashes the inputs a spec names (config document,
parameters, catalog path, window), not the code or the data behind the path. So every row also records:

- ``code_version``: the git commit of the repository the package runs from, and when the working tree differs
  from it, ``+dirty.<hash>`` of that difference (``git diff HEAD`` plus untracked, not ignored ``.py`` files), so
  two different uncommitted states never look alike. Without git (or outside a checkout), ``src.<hash>`` of the
  package sources the workers run (``mm_strategy`` and ``adapters``). Computed by the plan (the version to compare
  rows with on resume); each worker checks that the package sources it runs are the plan's (``runner``).
- ``catalog_fingerprint``: a hash of the catalog's data files (relative name, size, modification time): a rebuilt
  or extended catalog under the same path is a different input.

On resume, a row whose recorded value differs from the current one (or that has none: written before these
columns existed) is stale: the sweep runs it again and replaces it, and says which field differed. Re-running
rather than refusing keeps "run the same command again" the way to get a table that is all of the current code
and data; the rows it replaces were, for that table, wrong.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_PACKAGES = ("mm_strategy", "adapters")  # what a worker imports to run a backtest
CATALOG_DATA_SUFFIX = ".parquet"
HASH_CHARS = 12
GIT_TIMEOUT_S = 30
CODE_VERSION = "code_version"
CATALOG_FINGERPRINT = "catalog_fingerprint"
PROVENANCE_COLUMNS = (CODE_VERSION, CATALOG_FINGERPRINT)


def code_version(repo: Path = REPO_ROOT) -> str:
    """The commit (+ a hash of uncommitted changes), or a hash of the package sources when git cannot say."""
    try:
        if Path(_git(repo, "rev-parse", "--show-toplevel").decode().strip()).resolve() != repo.resolve():
            return source_version(repo)  # e.g. installed into a virtualenv that happens to sit inside a checkout
        commit = _git(repo, "rev-parse", "HEAD").decode().strip()
        diff = _git(repo, "diff", "HEAD", "--binary")
        untracked = _git(repo, "ls-files", "--others", "--exclude-standard", "-z", "--", "*.py").decode().split("\0")
    except (OSError, subprocess.SubprocessError):
        return source_version(repo)
    untracked_files = [repo / name for name in untracked if name]
    if not diff and not untracked_files:
        return commit[:HASH_CHARS]
    digest = hashlib.sha256(diff)
    _hash_files(digest, repo, untracked_files)
    return f"{commit[:HASH_CHARS]}+dirty.{digest.hexdigest()[:HASH_CHARS]}"


def catalog_fingerprint(catalog: Path) -> str:
    """A hash of (relative name, size, mtime) of every data file under the catalog."""
    entries = []
    for path in sorted(catalog.rglob(f"*{CATALOG_DATA_SUFFIX}")):
        stat = path.stat()
        entries.append((path.relative_to(catalog).as_posix(), stat.st_size, stat.st_mtime_ns))
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:HASH_CHARS]


def stale_fields(current: dict[str, str], recorded: dict[str, object]) -> list[str]:
    """The provenance columns whose recorded value is not the current one (missing counts as different)."""
    return [column for column in PROVENANCE_COLUMNS if recorded.get(column) != current[column]]


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True, timeout=GIT_TIMEOUT_S).stdout


def source_version(repo: Path = REPO_ROOT) -> str:
    """``src.<hash>`` of the package sources a worker imports to run a backtest (``SOURCE_PACKAGES``): what decides
    whether a run executed the planned code, whatever else in the checkout changed and with or without git."""
    digest = hashlib.sha256()
    _hash_files(digest, repo, _source_files(repo))
    return f"src.{digest.hexdigest()[:HASH_CHARS]}"


def source_stamp(repo: Path = REPO_ROOT) -> str:
    """A hash of (relative name, size, modification time) of the package sources, the ones ``source_version``
    hashes. A worker whose sources carry the plan's stamp runs the plan's sources without reading them
    (``runner.ran_version``): ~2 ms of ``stat`` against ~45 ms of hashing, in every run of a sweep, where a short
    window's whole run is a few hundred ms. An edit moves the modification time; another machine's checkout (a Ray
    node) has its own times and is hashed. The plan takes the stamp before the hash, so an edit between the two
    leaves a stamp no worker matches."""
    entries = []
    for path in _source_files(repo):
        stat = path.stat()
        entries.append((path.relative_to(repo).as_posix(), stat.st_size, stat.st_mtime_ns))
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:HASH_CHARS]


def _source_files(repo: Path) -> list[Path]:
    return sorted(p for package in SOURCE_PACKAGES for p in (repo / package).rglob("*.py"))


def _hash_files(digest, root: Path, files: Iterable[Path]) -> None:
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"")
