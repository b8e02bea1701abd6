"""Fetch one split's file: cache, then mirror, then its source (url, Hugging Face, local path).

Every path that returns a file has checked its sha256 against the manifest (or, when the
manifest has none yet, reports ``sha256_ok=None`` so the user is told to run `bioeval lock`).

A ``local:`` path is an input a hostile manifest could aim at any file (``~/.ssh``, ``../..``,
``${HF_TOKEN}``), so it is read only from inside the manifest's folder, the data mirror, a
declared data location (``${VAR}/...`` for a ``data_locations`` variable, staying inside that
folder), or an ``assets/`` folder beside the manifest's folder that says it holds shareable data
(it contains ``ASSETS_MARKER``: how a bioeval clone ships its smoke data, wherever bioeval itself
is installed); anything else needs ``--allow-outside-paths``.  Symlinks are resolved before the
check.  The rule is docs/data.md's "Which folders a manifest may read".
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from bioeval.data import cache, mirror
from bioeval.data.download import download, unresolvable
from bioeval.errors import ChecksumMismatch, InputRefused, Unavailable
from bioeval.manifest.schema import Source
from bioeval.redact import carries_credentials, looks_secret

ORIGINS = ("cache", "mirror", "url", "hf", "local")


@dataclass(frozen=True)
class FetchedFile:
    path: Path
    sha256: str  # of the bytes at path
    origin: str  # one of ORIGINS
    expected_sha256: str | None
    filename: str

    @property
    def sha256_ok(self) -> bool | None:
        """True when it matches the manifest; None when the manifest has no sha256 yet."""
        return None if self.expected_sha256 is None else self.sha256 == self.expected_sha256


def describe(source: Source) -> str:
    if source.url:
        return source.url
    if source.hf:
        h = source.hf
        return f"hf://{h.repo_type}s/{h.repo}@{h.revision}/{h.filename}"
    return f"local:{source.local}"


def fetch_source(source: Source, base_dir: Path, settings, label: str = "",
                 data_locations: tuple[str, ...] = ()) -> FetchedFile:
    """The file of one source, verified. Raises Unavailable, ChecksumMismatch, InputRefused or DataError.
    ``data_locations``: the variable names the manifest declares (``local: ${VAR}/file``)."""
    name, expected = source.filename, source.sha256
    if source.kind != "local":
        hit = cache.lookup(settings.cache_dir, expected, name)
        if hit:
            return FetchedFile(hit, expected, "cache", expected, name)
        found = mirror.find(settings.data_mirror, name, expected, source.url)
        if found:
            path, actual = found
            if expected:
                path = cache.store_copy(settings.cache_dir, path, actual, name)
            return FetchedFile(path, actual, "mirror", expected, name)
    if source.url:
        return _fetch_url(source, settings, label)
    if source.hf:
        return _fetch_hf(source)
    return _fetch_local(source, base_dir, settings, label, data_locations)


def _fetch_url(source: Source, settings, label: str) -> FetchedFile:
    name, expected = source.filename, source.sha256
    if expected:
        dest = cache.pinned_path(settings.cache_dir, expected, name)
    else:
        dest = cache.unpinned_path(settings.cache_dir, source.url, name)
        if dest.is_file():  # unpinned: reuse but hash again, so the report shows what was used
            return FetchedFile(dest, cache.sha256_file(dest), "cache", None, name)
    if os.environ.get("BIOEVAL_OFFLINE") == "1":
        raise Unavailable(f"{source.url}: not in the cache or mirror and BIOEVAL_OFFLINE=1.",
                          "Give --data-mirror DIR with the file, or unset BIOEVAL_OFFLINE.")
    actual = download(source.url, dest, expected, label=label or name)
    return FetchedFile(dest, actual, "url", expected, name)


def _fetch_hf(source: Source) -> FetchedFile:
    from huggingface_hub import hf_hub_download
    from huggingface_hub import errors as hf_errors

    from huggingface_hub import constants

    h = source.hf
    endpoint = os.environ.get("HF_ENDPOINT") or None
    # no DNS for the Hub: go straight to the HF cache instead of huggingface_hub's ~25 s of retries
    offline = unresolvable(endpoint or constants.ENDPOINT)
    try:
        path = Path(hf_hub_download(h.repo, h.filename, revision=h.revision, repo_type=h.repo_type,
                                    endpoint=endpoint, local_files_only=offline))
    except hf_errors.GatedRepoError:
        raise Unavailable(f"{describe(source)}: the repository is gated.",
                          "Accept its terms on the Hub, then set HF_TOKEN (or run `hf auth login`).") from None
    except hf_errors.LocalEntryNotFoundError:
        why = "the Hub's host name does not resolve (offline?)" if offline else "offline, or the Hub is unreachable"
        raise Unavailable(f"{describe(source)}: {why}, and the file is not in the HF cache (HF_HOME).",
                          "Fetch it once with internet (`bioeval fetch`), or give --data-mirror DIR holding "
                          f"{h.filename}.") from None
    except (hf_errors.RepositoryNotFoundError, hf_errors.RevisionNotFoundError,
            hf_errors.EntryNotFoundError) as exc:
        raise Unavailable(f"{describe(source)}: {type(exc).__name__} ({_first_line(exc)}).",
                          "Check repo, revision and filename in the manifest.") from None
    except Exception as exc:  # offline mode, network: huggingface_hub has many error types
        why = "the Hub's host name does not resolve (offline?) and the file is not in the HF cache" if offline \
            else _first_line(exc)
        raise Unavailable(f"{describe(source)}: {why}.",
                          "With HF_HUB_OFFLINE=1 the file must already be in the HF cache (HF_HOME); "
                          "or give --data-mirror DIR holding it.") from None
    actual = cache.sha256_file(path)
    if source.sha256 and actual != source.sha256:
        raise ChecksumMismatch(describe(source), source.sha256, actual)
    return FetchedFile(path, actual, "hf", source.sha256, source.filename)


ASSETS_MARKER = ".bioeval-assets"  # a folder's own statement that it holds data any manifest may read
_VAR = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}(?=/|$)")


def local_path(local: str, base_dir: Path, data_locations: tuple[str, ...] = ()) -> tuple[Path, Path | None]:
    """(path, data-location folder it must stay in, or None) for a ``local:`` value.

    Only ``${VAR}`` as the first part, for a declared, non-secret VAR, is expanded; nothing else
    of the environment is (the manifest loader already refuses the rest with its line)."""
    match = _VAR.match(local)
    if match:
        name = match.group(1)
        if name not in data_locations or looks_secret(name):
            raise InputRefused(f"local path {local!r}: ${{{name}}} is not a declared data location.",
                               "Declare it under `data_locations:` in the manifest (never a token or key).")
        value = os.environ.get(name)
        if not value:
            raise Unavailable(f"local path {local!r}: the data location {name} is not set.",
                              f"Set {name} to the folder that holds your copy of the data.")
        if carries_credentials(value) or "://" in value:
            raise InputRefused(f"local path {local!r}: the data location {name} holds a URL, not a folder.",
                               f"Set {name} to the folder that holds your copy of the data.")
        root = Path(os.path.expanduser(value))
        return root / local[match.end():].lstrip("/"), root
    if "$" in local:
        raise InputRefused(f"local path {local!r}: only a leading ${{VAR}} of a declared data location is expanded.",
                           "Write it as ${VAR}/file and list VAR under `data_locations:`.")
    path = Path(os.path.expanduser(local))
    return (path if path.is_absolute() else Path(base_dir) / path), None


def allowed_roots(base_dir: Path, settings, location: Path | None) -> list[Path]:
    roots = [Path(base_dir)]
    beside = Path(base_dir).resolve().parent / "assets"  # manifests/ and assets/ of a clone, wherever it is
    if (beside / ASSETS_MARKER).is_file():
        roots.append(beside)
    if getattr(settings, "data_mirror", None):
        roots.append(Path(settings.data_mirror))
    if location is not None:
        roots.append(location)
    return [r.resolve() for r in roots]


def check_local(local: str, base_dir: Path, settings, data_locations: tuple[str, ...] = ()) -> Path:
    """The path of a ``local:`` source once it is known to be allowed; raises InputRefused."""
    path, location = local_path(local, base_dir, data_locations)
    if getattr(settings, "allow_outside_paths", False):
        return path
    real = path.resolve()
    roots = allowed_roots(base_dir, settings, location)
    if location is not None:  # ${VAR}/file must stay inside VAR's folder, whatever else is allowed
        roots = [location.resolve()]
    if not any(real == r or r in real.parents for r in roots):
        if location is not None:  # the message names ${VAR}, never its value
            raise InputRefused(f"local path {local!r} resolves outside the data location "
                               f"{local[:local.index('}') + 1]}.",
                               "A ${VAR}/... path must stay inside VAR's folder (no `..`, no symlink out of it).")
        raise InputRefused(f"local path {local!r} resolves to {real}, outside the manifest's folder, "
                           f"the data mirror, a declared data location or a ../assets folder marked {ASSETS_MARKER}.",
                           "bioeval reads local data only from there; if you trust this manifest, rerun with "
                           "`bioeval --allow-outside-paths ...`.")
    return path


def check_local_sources(loaded, settings) -> list[Path]:
    """Every ``local:`` data path of a manifest, checked (what a container or Slurm node is given)."""
    declared = tuple(loc.var for loc in loaded.manifest.data_locations)
    paths = []
    for dataset in loaded.manifest.datasets:
        for split in dataset.splits.values():
            if split.source.local:
                try:
                    paths.append(check_local(split.source.local, loaded.base_dir, settings, declared))
                except Unavailable:
                    continue  # an unset data location may be set where the cell runs
    return paths


def _fetch_local(source: Source, base_dir: Path, settings, label: str, data_locations: tuple[str, ...]) -> FetchedFile:
    access = source.access or "The manifest gives no access instructions for this file."
    try:
        path = check_local(source.local, base_dir, settings, data_locations)
    except Unavailable as exc:  # a data location that is not set
        raise Unavailable(exc.message, f"{exc.hint} How to obtain the data: {access}") from None
    shown = source.local if _VAR.match(source.local) else str(path)  # ${VAR}/...: never the value
    if not path.is_file():
        raise Unavailable(f"local file {shown} does not exist.", f"How to obtain it: {access}")
    actual = cache.sha256_file(path)
    if source.sha256 and actual != source.sha256:
        raise ChecksumMismatch(shown, source.sha256, actual)
    return FetchedFile(path, actual, "local", source.sha256, source.filename)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
