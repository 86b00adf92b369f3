"""Built-in data, all offline: scikit-learn's digits, MNIST-1D (generated locally),
synthetic sequence tasks and the small English corpora shipped in gensim's wheel.

Everything here is deterministic given ``seed``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Split:
    """A train/test split as float32 features and int64 labels (NumPy).

    ``X_val`` / ``y_val`` hold a validation split carved out of the training
    data by :meth:`with_validation` (``None`` until then): hyper-parameters are
    chosen on it, and the test split is read once, for the chosen setting.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    def with_validation(self, fraction: float = 0.2, seed: int = 0) -> Split:
        """A copy whose training split is divided into train and a stratified validation split."""
        from sklearn.model_selection import train_test_split

        if not 0.0 < fraction < 1.0:
            raise ValueError(f"fraction must be in (0, 1), got {fraction}")
        if self.X_val is not None:
            raise ValueError("this split already has a validation split")
        Xtr, Xva, ytr, yva = train_test_split(self.X_train, self.y_train, test_size=fraction,
                                              random_state=seed, stratify=self.y_train)
        return Split(Xtr, ytr, self.X_test, self.y_test, Xva, yva)

    def val_tensors(self, device: str = "cpu") -> tuple[Any, Any]:
        """(X_val, y_val) as torch tensors on ``device``."""
        import torch

        if self.X_val is None or self.y_val is None:
            raise ValueError("no validation split: call with_validation() first")
        return torch.as_tensor(self.X_val, device=device), torch.as_tensor(self.y_val, device=device)

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max()) + 1)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    def tensors(self, device: str = "cpu") -> tuple[Any, Any, Any, Any]:
        """(X_train, y_train, X_test, y_test) as torch tensors on ``device``."""
        import torch

        return (
            torch.as_tensor(self.X_train, device=device),
            torch.as_tensor(self.y_train, device=device),
            torch.as_tensor(self.X_test, device=device),
            torch.as_tensor(self.y_test, device=device),
        )


def digits(
    seed: int = 0,
    test_size: float = 0.3,
    n_train: int | None = None,
    standardize: bool = True,
    images: bool = False,
) -> Split:
    """scikit-learn's 8×8 handwritten digits (1,797 images, 10 classes), stratified split.

    ``standardize`` scales pixels with the training split's mean and standard
    deviation (never the test split's). ``n_train`` keeps a stratified subset of
    the training split. ``images=True`` returns X with shape (N, 1, 8, 8).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    y = y.astype(np.int64)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    if n_train is not None and n_train < len(ytr):
        Xtr, _, ytr, _ = train_test_split(Xtr, ytr, train_size=n_train, random_state=seed, stratify=ytr)
    if standardize:
        mu = Xtr.mean(axis=0)
        sd = Xtr.std(axis=0) + 1e-3  # some border pixels are constant in small subsets
        Xtr = (Xtr - mu) / sd
        Xte = (Xte - mu) / sd
    else:
        Xtr = Xtr / 16.0
        Xte = Xte / 16.0
    if images:
        Xtr = Xtr.reshape(-1, 1, 8, 8)
        Xte = Xte.reshape(-1, 1, 8, 8)
    return Split(Xtr.astype(np.float32), ytr, Xte.astype(np.float32), yte)


# --------------------------------------------------------------------------- sequences


@lru_cache(maxsize=4)
def _mnist1d_arrays(data_seed: int, num_samples: int) -> tuple[np.ndarray, ...]:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = data_seed
    args.num_samples = num_samples
    # make_dataset seeds NumPy's global generator; keep the caller's stream untouched
    state = np.random.get_state()
    try:
        d = make_dataset(args)
    finally:
        np.random.set_state(state)
    return (d["x"].astype(np.float32), d["y"].astype(np.int64),
            d["x_test"].astype(np.float32), d["y_test"].astype(np.int64))


def mnist1d(
    seed: int = 0,
    n_train: int | None = None,
    data_seed: int = 42,
    num_samples: int = 5000,
    sequence: bool = False,
) -> Split:
    """MNIST-1D (Greydanus & Kobak, "Scaling down deep learning with MNIST-1D", ICML 2024).

    Ten 1-D templates of length 12, padded, translated, scaled, sheared and
    noised into sequences of 40 values; 4,000 training and 1,000 test
    examples with the package's default arguments. The data are generated
    here with ``mnist1d.data.make_dataset`` (the package's download path is
    never used). ``data_seed=42`` is the package's standard data set, the one
    the paper's accuracies refer to (logistic regression 32 %, MLP 68 %,
    CNN 94 %, GRU 91 %); ``seed`` draws the stratified training subset when
    ``n_train`` is given. ``sequence=True`` returns X as (N, 40, 1) for
    recurrent models; otherwise (N, 40).
    """
    if n_train is not None and n_train < 10:
        raise ValueError(f"n_train must be at least 10 (one per class), got {n_train}")
    Xtr, ytr, Xte, yte = (a.copy() for a in _mnist1d_arrays(int(data_seed), int(num_samples)))
    if n_train is not None and n_train < len(ytr):
        from sklearn.model_selection import train_test_split

        Xtr, _, ytr, _ = train_test_split(Xtr, ytr, train_size=n_train, random_state=seed, stratify=ytr)
    if sequence:
        Xtr = Xtr[:, :, None]
        Xte = Xte[:, :, None]
    return Split(np.ascontiguousarray(Xtr), ytr, np.ascontiguousarray(Xte), yte)


def copy_task(n: int, length: int, vocab: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random token sequences (tokens 1..vocab-1; 0 is reserved for padding) and their copies."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocab, size=(n, length))
    return x, x.copy()


def reverse_task(n: int, length: int, vocab: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random token sequences and the same sequences reversed."""
    x, _ = copy_task(n, length, vocab, seed)
    return x, x[:, ::-1].copy()


def adding_problem(n: int, length: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hochreiter & Schmidhuber (1997): inputs (n, length, 2) of a random value and a
    marker (two positions marked); the target is the sum of the two marked values."""
    rng = np.random.default_rng(seed)
    values = rng.random((n, length))
    marks = np.zeros((n, length))
    for i in range(n):
        a, b = rng.choice(length, size=2, replace=False)
        marks[i, a] = marks[i, b] = 1.0
    x = np.stack([values, marks], axis=-1).astype(np.float32)
    y = (values * marks).sum(axis=1).astype(np.float32)
    return x, y


def delayed_recall(n: int, delay: int, vocab: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The first token must be recalled after ``delay`` distractor tokens.

    Returns integer inputs of shape (n, delay + 1) (token ids 1..vocab-1 first,
    then random distractors) and targets of shape (n,) = the first token.
    """
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocab, size=(n, delay + 1))
    return x, x[:, 0].copy()


# --------------------------------------------------------------------------- corpora


def gensim_test_data_dir() -> Path:
    """The folder of test data inside the installed gensim wheel.

    Raises ModuleNotFoundError with an install hint when gensim is missing.
    """
    try:
        import gensim  # noqa: F401
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError(
            "gensim is needed for this data; install it with: pip install 'dlfaq[embeddings]'"
        ) from exc
    import gensim

    return Path(os.path.dirname(gensim.__file__)) / "test" / "test_data"


_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")


def lee_corpus(lower: bool = True) -> list[list[str]]:
    """The Lee background corpus shipped with gensim (300 news documents), tokenized into words."""
    path = gensim_test_data_dir() / "lee_background.cor"
    docs = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            text = line.lower() if lower else line
            toks = _TOKEN.findall(text)
            if toks:
                docs.append(toks)
    return docs


def lee_text() -> str:
    """The raw text of the Lee background corpus (for character-level models)."""
    path = gensim_test_data_dir() / "lee_background.cor"
    return path.read_text(encoding="utf-8", errors="replace")
