"""The learned writer-independent embedding (issue 21): a signature crop →
a unit vector such that one hand's signatures lie close together.

A compact convolutional network (five 3 x 3 / 5 x 5 convolutions, about
330 k weights; see ``sigverify/models/signature_embedding.md``) runs on the
preprocessed canvas of :func:`~sigverify.signatures.preprocess.preprocess`
(ink = 1, size, slant and stroke width normalised), so every crop is
cleaned exactly as for the classical features and bad crops get the same
reason codes. Inference is batched through OpenCV's DNN module on the
exported ONNX graph (no deep-learning runtime); :func:`forward_reference`
is the same network in plain numpy, the slow reference the tests compare
against. Training lives outside the package (``benchmarks/train_embedding.py``,
optional ``train`` extra).
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import os
import threading
from importlib import resources
from typing import Sequence

import cv2
import numpy as np

from sigverify.signatures.preprocess import PrepParams, iter_prepared

__all__ = [
    "DEFAULT_EMBEDDING",
    "EMBED_DIM",
    "EmbeddingNet",
    "embed",
    "embed_canvases",
    "forward_reference",
    "load_embedding",
    "cosine_distance",
]

DEFAULT_EMBEDDING = "signature_embedding"
EMBED_DIM = 128

#: Layers of the network after BatchNorm folding, in order (the numpy
#: reference follows it; ``benchmarks/train_embedding.py`` builds it).
ARCH = (
    ("conv", 2, 2), ("relu",), ("maxpool", 2),
    ("conv", 1, 1), ("relu",), ("maxpool", 2),
    ("conv", 1, 1), ("relu",), ("conv", 1, 1), ("relu",), ("maxpool", 2),
    ("conv", 1, 1), ("relu",), ("avgpool", 2),
    ("flatten",), ("linear",),
)


class EmbeddingNet:
    """The exported network, run batch by batch with OpenCV's DNN module.

    One OpenCV ``Net`` per thread (a ``Net`` is not safe to share between
    threads); the weights file is read once.

    Parameters
    ----------
    name : str
        Base name of ``<name>.onnx`` / ``<name>.npz`` in ``sigverify/models``.
    path : str, optional
        Directory holding them instead (a model being evaluated).
    """

    def __init__(self, name: str = DEFAULT_EMBEDDING, *, path: str | os.PathLike | None = None):
        self.name = name
        if path is not None:
            with open(os.path.join(path, f"{name}.onnx"), "rb") as fh:
                self._onnx = fh.read()
        else:
            self._onnx = resources.files("sigverify.models").joinpath(f"{name}.onnx").read_bytes()
        self._path = path
        self._local = threading.local()
        #: ``<name>-<first 12 hex digits of the ONNX file's SHA-256>``: store it beside saved
        #: embeddings, which mean nothing to another network (other weights, same name)
        self.version = f"{name}-{hashlib.sha256(self._onnx).hexdigest()[:12]}"

    def _net(self):
        net = getattr(self._local, "net", None)
        if net is None:
            net = cv2.dnn.readNetFromONNX(np.frombuffer(self._onnx, np.uint8))
            self._local.net = net
        return net

    def weights(self) -> dict[str, np.ndarray]:
        """The same weights as numpy arrays (for :func:`forward_reference`)."""
        if self._path is not None:
            z = np.load(os.path.join(self._path, f"{self.name}.npz"))
        else:
            with resources.as_file(resources.files("sigverify.models").joinpath(f"{self.name}.npz")) as p:
                z = np.load(p)
        return {k: z[k] for k in z.files}

    def __call__(self, canvases: np.ndarray) -> np.ndarray:
        """(N, H, W) canvases → (N, D) float32 unit vectors."""
        x = np.ascontiguousarray(np.asarray(canvases, np.float32)[:, None])
        if len(x) == 0:
            return np.zeros((0, EMBED_DIM), np.float32)
        net = self._net()
        net.setInput(x)
        e = np.asarray(net.forward(), np.float32).reshape(len(x), -1)
        return _unit(e)


def _unit(e: np.ndarray) -> np.ndarray:
    n = np.sqrt((e * e).sum(axis=1, keepdims=True))
    return (e / np.maximum(n, 1e-12)).astype(np.float32)


_CACHE: dict = {}
_CACHE_LOCK = threading.Lock()


def load_embedding(name: str = DEFAULT_EMBEDDING) -> EmbeddingNet:
    """The shipped network `name` (loaded once per process)."""
    with _CACHE_LOCK:
        if name not in _CACHE:
            _CACHE[name] = EmbeddingNet(name)
        return _CACHE[name]


#: Canvases per network call (memory vs. overhead).
_NET_BATCH = 128


def embed_canvases(canvases: np.ndarray, *, net: EmbeddingNet | None = None) -> np.ndarray:
    """Embed preprocessed canvases.

    Parameters
    ----------
    canvases : (N, H, W) float array
        :attr:`~sigverify.signatures.preprocess.Prepared.images` (ink = 1).
    net : EmbeddingNet, optional
        Default: the shipped network.

    Returns
    -------
    (N, D) float32, rows of unit length.
    """
    net = net or load_embedding()
    canvases = np.asarray(canvases)
    if canvases.ndim != 3:
        raise ValueError("The parameter `canvases` must be 3-D (N, H, W)")
    out = np.empty((len(canvases), EMBED_DIM), np.float32)
    for s in range(0, len(canvases), _NET_BATCH):
        out[s : s + _NET_BATCH] = net(canvases[s : s + _NET_BATCH])
    return out


def embed(
    crops: Sequence,
    *,
    dpi=None,
    params: PrepParams | None = None,
    net: EmbeddingNet | None = None,
    workers: int = 1,
    return_error: bool = False,
):
    """Embed raw signature crops (a batch).

    Parameters
    ----------
    crops : sequence of N 2-D arrays or image paths
        Raw crops (light paper, dark ink, any size). A crop that cannot be
        used (empty, dark all over, only a form line, not an image) gets a
        row of NaN and a reason in ``error``; the batch goes on.
    dpi : float, sequence of N floats or None
        Scan resolution (None: unknown, as in the pipeline).
    params : PrepParams, optional
    net : EmbeddingNet, optional
    workers : int
        Threads (-1 = every core).
    return_error : bool
        Also return the (N,) object array of reason codes (``''`` = usable).

    Returns
    -------
    embedding : (N, D) float32
        Unit vectors; NaN rows for unusable crops.
    error : (N,) object array of str, only with ``return_error``.

    Examples
    --------
    >>> crop = np.full((90, 300), 240, np.uint8)
    >>> _ = cv2.putText(crop, "Ann Lee", (8, 60), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.6, 30, 2)
    >>> e, err = embed([crop, np.zeros((0, 0), np.uint8)], return_error=True)
    >>> e.shape, e.dtype, err.tolist()
    ((2, 128), dtype('float32'), ['', 'empty'])
    """
    from sigverify.signatures.verify import describe

    _, err, feats = describe(crops, dpi=dpi, params=params, workers=workers, embed_net=net or load_embedding(),
                             classical=False)
    e = feats["embedding"]
    e[err != ""] = np.nan
    return (e, err) if return_error else e


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise ``1 - cos`` of (N, D) unit vectors → (N,) float32 in [0, 2]."""
    return np.clip(1.0 - np.einsum("ij,ij->i", a, b), 0.0, 2.0).astype(np.float32)


# ------------------------------------------------------------ reference


def forward_reference(weights: dict[str, np.ndarray], canvases: np.ndarray) -> np.ndarray:
    """The network in plain numpy, one layer at a time with explicit loops
    over the kernel taps (slow; the reference the tests compare
    :class:`EmbeddingNet` with).

    Parameters
    ----------
    weights : dict of str to array
        :meth:`EmbeddingNet.weights` (keys ``'<layer>.<Type>.<param>'``).
    canvases : (N, H, W) float array

    Returns
    -------
    (N, D) float32 unit vectors.
    """
    params = {}
    for k, v in weights.items():
        i, _, p = k.split(".")
        params.setdefault(int(i), {})[p] = np.asarray(v, np.float64)
    x = np.asarray(canvases, np.float64)[:, None]
    for i, layer in enumerate(ARCH):
        kind = layer[0]
        if kind == "conv":
            w, b = params[i]["weight"], params[i]["bias"]
            stride, pad = layer[1], w.shape[-1] // 2
            n, c, h, wd = x.shape
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            ho, wo = (h + 2 * pad - w.shape[2]) // stride + 1, (wd + 2 * pad - w.shape[3]) // stride + 1
            y = np.zeros((n, w.shape[0], ho, wo))
            for dy in range(w.shape[2]):
                for dx in range(w.shape[3]):
                    patch = xp[:, :, dy : dy + stride * ho : stride, dx : dx + stride * wo : stride]
                    y += np.einsum("nchw,oc->nohw", patch, w[:, :, dy, dx])
            x = y + b[None, :, None, None]
        elif kind == "relu":
            x = np.maximum(x, 0)
        elif kind in ("maxpool", "avgpool"):
            k = layer[1]
            n, c, h, wd = x.shape
            v = x[:, :, : h // k * k, : wd // k * k].reshape(n, c, h // k, k, wd // k, k)
            x = v.max(axis=(3, 5)) if kind == "maxpool" else v.mean(axis=(3, 5))
        elif kind == "flatten":
            x = x.reshape(len(x), -1)
        elif kind == "linear":
            x = x @ params[i]["weight"].T + params[i]["bias"]
    return _unit(x.astype(np.float32))
