"""Built-in data, all offline: scikit-learn's digits, synthetic sequence tasks and
the small English corpora shipped in gensim's wheel.

Everything here is deterministic given ``seed``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Split:
    """A train/test split as float32 features and int64 labels (NumPy)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max()) + 1)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    def tensors(self, device: str = "cpu") -> tuple:
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
