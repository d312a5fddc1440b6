"""Read and write safetensors files with nothing but Python and numpy.

The test fixtures and the Cora model are written with this module, so the
files do not depend on the `safetensors` package.  The layout follows the
published format:

    8 bytes     little-endian unsigned header length n
    n bytes     JSON header {"name": {"dtype", "shape", "data_offsets"}, ...,
                "__metadata__": {str: str}}, padded with spaces so that the
                data buffer starts at a multiple of 8
    rest        the data buffer; data_offsets [begin, end) are relative to it

Tensors are stored little-endian and laid out by decreasing element size,
then by name, so every tensor starts at a multiple of its element size
(the same ordering the reference implementation uses).

Supported dtypes: F32, F16, BF16, F64 and I64.  numpy has no bfloat16, so
BF16 tensors are written from float arrays (rounded to nearest, ties to
even) and read back as float32, which holds every bfloat16 value exactly.

Usage:
    from safetensors_io import save, load
    save("m.safetensors", {"w": np.ones((2, 3), np.float32)},
         dtypes={"w": "BF16"}, metadata={"format": "pt"})
    st = load("m.safetensors")      # st.tensors, st.dtypes, st.metadata
"""

import json
import struct
from collections import namedtuple

import numpy as np

# dtype name -> (numpy dtype used on disk, element size in bytes)
DTYPES = {
    "F64": (np.dtype("<f8"), 8),
    "I64": (np.dtype("<i8"), 8),
    "F32": (np.dtype("<f4"), 4),
    "F16": (np.dtype("<f2"), 2),
    "BF16": (np.dtype("<u2"), 2),
}

_NUMPY_TO_NAME = {
    np.dtype(np.float64): "F64",
    np.dtype(np.int64): "I64",
    np.dtype(np.float32): "F32",
    np.dtype(np.float16): "F16",
}

Safetensors = namedtuple("Safetensors", "tensors dtypes metadata")


def float32_to_bf16_bits(values):
    """Round float32 values to bfloat16 (nearest, ties to even), as uint16.

    This is the rounding torch uses for `tensor.to(torch.bfloat16)`; NaN is
    kept a quiet NaN instead of being rounded into infinity.
    """
    f = np.ascontiguousarray(values, dtype=np.float32)
    bits = f.view(np.uint32).astype(np.uint64)
    rounding = 0x7FFF + ((bits >> 16) & 1)
    out = ((bits + rounding) >> 16).astype(np.uint16)
    nan = np.isnan(f)
    out[nan] = ((bits[nan] >> 16) | 0x40).astype(np.uint16)
    return out


def bf16_bits_to_float32(bits):
    """Widen bfloat16 bit patterns to float32 (exact)."""
    b = np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16
    return b.view(np.float32)


def _encode(array, dtype):
    """Bytes of one tensor in the on-disk dtype."""
    if dtype == "BF16":
        return float32_to_bf16_bits(array).astype("<u2").tobytes()
    disk, _ = DTYPES[dtype]
    if dtype == "I64":
        if not np.issubdtype(np.asarray(array).dtype, np.integer):
            raise TypeError("I64 tensors need integer data")
    return np.ascontiguousarray(array, dtype=disk).tobytes()


def save(path, tensors, dtypes=None, metadata=None):
    """Write tensors (name -> numpy array) to a safetensors file.

    dtypes optionally names the stored dtype per tensor ("BF16", "F16", ...);
    otherwise it follows the array's numpy dtype.  Float arrays given a
    narrower stored dtype are rounded to it.  Returns the bytes written, so
    callers can check determinism.
    """
    dtypes = dict(dtypes or {})
    entries = []
    for name, value in tensors.items():
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved")
        array = np.asarray(value)
        dtype = dtypes.get(name) or _NUMPY_TO_NAME.get(array.dtype)
        if dtype not in DTYPES:
            raise TypeError(f"{name}: unsupported dtype {array.dtype}")
        entries.append((name, dtype, array))
    # Widest elements first keeps every tensor aligned to its element size.
    entries.sort(key=lambda e: (-DTYPES[e[1]][1], e[0]))

    header, chunks, offset = {}, [], 0
    for name, dtype, array in entries:
        data = _encode(array, dtype)
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}

    text = json.dumps(header, separators=(",", ":"), sort_keys=True)
    raw = text.encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    blob = struct.pack("<Q", len(raw)) + raw + b"".join(chunks)
    with open(path, "wb") as f:
        f.write(blob)
    return blob


def loads(blob):
    """Parse safetensors bytes; see load()."""
    if len(blob) < 8:
        raise ValueError("file shorter than its 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError("header length runs past the end of the file")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    metadata = header.pop("__metadata__", {}) or {}

    tensors, dtypes = {}, {}
    for name, info in header.items():
        dtype, shape = info["dtype"], tuple(info["shape"])
        begin, end = info["data_offsets"]
        if dtype not in DTYPES:
            raise ValueError(f"{name}: unsupported dtype {dtype}")
        disk, size = DTYPES[dtype]
        count = int(np.prod(shape, dtype=np.int64))
        if not 0 <= begin <= end <= len(data) or end - begin != count * size:
            raise ValueError(f"{name}: data_offsets do not match its shape")
        array = np.frombuffer(data[begin:end], dtype=disk).reshape(shape)
        if dtype == "BF16":
            array = bf16_bits_to_float32(array).reshape(shape)
        tensors[name] = array.astype(array.dtype.newbyteorder("="))
        dtypes[name] = dtype
    return Safetensors(tensors, dtypes, metadata)


def load(path):
    """Read a safetensors file: Safetensors(tensors, dtypes, metadata).

    tensors maps name -> numpy array in native byte order (BF16 as float32),
    dtypes maps name -> the stored dtype name.
    """
    with open(path, "rb") as f:
        return loads(f.read())
