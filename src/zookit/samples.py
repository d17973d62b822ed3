"""Real samples for models that take no pictures: the recipe's sample files (recipe.mcu.Sample) decoded
into model inputs, and a user's folder of ``.npy`` files (``--samples DIR``).

Every decoder checks what it reads against what the recipe says (a truncated or padded file, a C array
with the wrong number of values, an array of the wrong size) and fails with one line naming the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from zookit.errors import UsageError, ZooError
from zookit.ports import Port
from zookit.recipe import Recipe
from zookit.recipe.mcu import Sample

Feed = dict[str, np.ndarray]
_INT = re.compile(r"-?\d+")


class SampleError(ZooError):
    """A sample file that does not hold what its recipe entry says."""


def recipe_samples(recipe: Recipe, folder: Path | None, ports: list[Port], use: str) -> list[Feed]:
    """The recipe's samples for ``use`` (verification, calibration), each shaped as the model's input."""
    chosen = [s for s in recipe.samples if use in s.use]
    if not chosen:
        return []
    if folder is None or len(ports) != 1:
        raise SampleError(f"{recipe.name}: samples feed a single-input model whose sources are fetched")
    out: list[Feed] = []
    for sample in chosen:
        arrays = decode(sample, folder / sample.file)
        out += [{ports[0].name: _as_input(a, ports[0], folder / sample.file)} for a in arrays]
    return out


def describe(recipe: Recipe, use: str) -> list[str]:
    """One line per sample file used for ``use``: file and kind (for the manifest)."""
    return [f"{s.file} ({s.kind})" for s in recipe.samples if use in s.use]


def decode(sample: Sample, path: Path) -> list[np.ndarray]:
    """The samples a file holds, as float32 arrays (not yet shaped as the input)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SampleError(f"sample file {path}: cannot be read ({exc.strerror or exc}); fetch it") from None
    if sample.kind == "raw-float32":
        return _raw_float32(sample, data, path)
    if sample.kind == "c-int8":
        return _c_int8(sample, data, path)
    return _numpy(data, path, sample.kind)


def _raw_float32(sample: Sample, data: bytes, path: Path) -> list[np.ndarray]:
    assert sample.shape is not None
    count = int(np.prod(sample.shape))
    if len(data) != count * 4:
        raise SampleError(
            f"sample file {path}: {len(data)} bytes, but shape {sample.shape} of float32 needs {count * 4}"
        )
    clip = np.frombuffer(data, "<f4").reshape(sample.shape).astype(np.float32)
    if not np.isfinite(clip).all():
        raise SampleError(f"sample file {path}: holds NaN or infinite values")
    if sample.window is None:
        return [clip]
    size, stride = sample.window.size, sample.window.stride
    frames = len(clip) if clip.ndim else 0
    return [clip[start : start + size] for start in range(0, frames - size + 1, stride)]


def _c_int8(sample: Sample, data: bytes, path: Path) -> list[np.ndarray]:
    """The integers between the braces of ``<array>[...] = { ... };`` (comments removed), dequantized."""
    assert sample.array is not None and sample.quantization is not None
    text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", data.decode("utf-8", "replace"), flags=re.S)
    found = re.search(rf"\b{re.escape(sample.array)}\s*(\[[^\]=]*\]\s*)*=\s*\{{(.*?)\}}\s*;", text, re.S)
    if found is None:
        raise SampleError(f"sample file {path}: no C array named {sample.array!r} with an initializer")
    body = found.group(2)
    values = [int(v) for v in _INT.findall(body)]
    if not values:
        raise SampleError(f"sample file {path}: the array {sample.array!r} holds no integers")
    if min(values) < -128 or max(values) > 127:
        raise SampleError(f"sample file {path}: {sample.array!r} holds values outside int8 (-128..127)")
    rows = [r for r in re.findall(r"\{([^{}]*)\}", body)] or [body]
    q = sample.quantization
    return [
        ((np.array([int(v) for v in _INT.findall(row)], np.float32) - q.zero_point) * q.scale).astype(
            np.float32
        )
        for row in rows
    ]


NPY_MAGIC = b"\x93NUMPY"


def _check_npy_header(head: bytes, path: Path, size: int | None = None) -> None:
    """SampleError when a .npy header claims more data than the file holds (a header may claim terabytes:
    numpy would try to allocate them before finding the file short)."""
    import io

    f = io.BytesIO(head)
    try:
        version = np.lib.format.read_magic(f)
        shape, _, dtype = (
            np.lib.format.read_array_header_1_0(f)
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0(f)
        )
    except (ValueError, SyntaxError) as exc:
        raise SampleError(f"sample file {path}: not a readable npy header ({exc})") from None
    claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
    holds = (size if size is not None else len(head)) - f.tell()
    if claimed > holds:
        raise SampleError(
            f"sample file {path}: its header claims {list(shape)} {dtype} ({claimed} bytes) but the file "
            f"holds {max(holds, 0)} bytes of data"
        )


def _numpy(data: bytes, path: Path, kind: str) -> list[np.ndarray]:
    import io
    import zipfile

    try:
        if data.startswith(NPY_MAGIC):
            _check_npy_header(data, path)
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        if kind == "npz" or isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                for member in loaded.zip.infolist():  # each member is a .npy: its header read first
                    with loaded.zip.open(member) as f:
                        _check_npy_header(f.read(1 << 16), path, member.file_size)
                arrays = [loaded[k] for k in loaded.files]
        else:
            arrays = [loaded]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, MemoryError) as exc:
        raise SampleError(f"sample file {path}: not a readable {kind} file ({exc})") from None
    out = []
    for array in arrays:
        if not np.issubdtype(array.dtype, np.number):
            raise SampleError(f"sample file {path}: holds {array.dtype} values, not numbers")
        out.append(array.astype(np.float32))
    return out


def _as_input(array: np.ndarray, port: Port, path: Path) -> np.ndarray:
    """One sample in the input's shape (a leading batch of 1 added); any other size is an error."""
    shape = [1 if d == -1 else d for d in port.shape]
    if array.size != int(np.prod(shape)):
        raise SampleError(
            f"sample file {path}: a sample of {array.size} values ({list(array.shape)}) does not fit the "
            f"input {port.name} {list(port.shape)}"
        )
    return np.asarray(array.reshape(shape).astype(port.dtype))


def user_samples(folder: Path, ports: list[Port]) -> list[Feed]:
    """``--samples DIR``: every ``.npy`` file of the folder (sorted by name): one sample of the input's
    shape, or several stacked along a leading axis."""
    files = npy_files(folder)
    if len(ports) != 1:
        raise UsageError(f"--samples: feeds a single-input model; this one has {len(ports)} inputs")
    port = ports[0]
    one = int(np.prod([1 if d == -1 else d for d in port.shape]))
    out: list[Feed] = []
    for path in files:
        (array,) = _numpy(path.read_bytes(), path, "npy")
        stacked = array.ndim >= 2 and int(np.prod(array.shape[1:])) == one
        rows = list(array) if stacked and array.size != one else [array]
        out += [{port.name: _as_input(row, port, path)} for row in rows]
    return out


def npy_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise UsageError(f"--samples: {folder} is not a folder")
    return sorted(p for p in folder.iterdir() if p.suffix == ".npy" and p.is_file())


def check_samples_option(folder: Path, recipes: list[Recipe]) -> Path:
    """``--samples DIR``: only for models that take no pictures, and the folder holds ``.npy`` files."""
    pictures = [r.name for r in recipes if r.takes_images]
    if pictures:
        raise UsageError(f"--samples: {', '.join(pictures)} take(s) pictures; give them with --images DIR")
    if not npy_files(folder):
        raise UsageError(f"--samples: {folder} holds no .npy files")
    return folder
