"""Class-balanced mini-batches for ``torch.utils.data.DataLoader``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Sampler

__all__ = ["BalancedBatchSampler"]


class BalancedBatchSampler(Sampler[list[int]]):
    """Yield index batches with a fixed quota per class: a ``batch_sampler`` for ``DataLoader``.

    Each batch holds ``batch_size // C`` samples of every class (the remainder,
    ``batch_size % C``, goes one each to a random subset of classes that changes
    from batch to batch), so every class is seen equally often whatever its
    frequency. This is on-the-fly random over-sampling of the rare classes and
    under-sampling of the frequent ones, without materialising a resampled data set.

    Args:
        labels: class label of every sample of the data set (sequence, NumPy or torch).
        batch_size: samples per batch; at least the number of classes.
        replacement: ``False`` (default): each class is drawn from its own shuffled
            stream that is reshuffled when exhausted, so no sample of a class
            repeats before all its samples have been used, and a batch has no
            duplicates as long as the quota does not exceed the class size.
            ``True``: every quota is drawn independently with replacement.
        num_batches: batches per epoch. Default: ``len(labels) // batch_size``, i.e.
            an epoch shows as many samples as a plain ``DataLoader`` epoch would
            (the majority class is then under-sampled and the minority classes
            repeat, each roughly ``N / (C n_c)`` times per epoch).
        generator: optional ``torch.Generator`` for reproducible batches.

    Example::

        sampler = BalancedBatchSampler(train_labels, batch_size=64, generator=torch.Generator().manual_seed(0))
        loader = DataLoader(train_set, batch_sampler=sampler)
    """

    def __init__(
        self,
        labels: Any,
        batch_size: int,
        *,
        replacement: bool = False,
        num_batches: int | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        y = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
        if y.ndim != 1 or y.size == 0:
            raise ValueError("labels must be a non-empty 1-D sequence")
        self.classes, inverse = np.unique(y, return_inverse=True)
        C = len(self.classes)
        if C < 2:
            raise ValueError(f"labels must contain at least 2 classes, got {C}")
        if not isinstance(batch_size, int) or batch_size < C:
            raise ValueError(f"batch_size must be an int >= the number of classes ({C}), got {batch_size!r}")
        self.batch_size = batch_size
        self.replacement = bool(replacement)
        self.num_batches = len(y) // batch_size if num_batches is None else int(num_batches)
        if self.num_batches < 1:
            raise ValueError(f"num_batches must be >= 1, got {self.num_batches}")
        self.generator = generator
        self._by_class: Sequence[torch.Tensor] = [
            torch.as_tensor(np.flatnonzero(inverse == c), dtype=torch.long) for c in range(C)
        ]

    def __len__(self) -> int:
        return self.num_batches

    def _gen(self) -> torch.Generator:
        if self.generator is not None:
            return self.generator
        g = torch.Generator()
        g.manual_seed(int(torch.empty((), dtype=torch.int64).random_().item()))
        return g

    def __iter__(self) -> Iterator[list[int]]:
        g = self._gen()
        C = len(self._by_class)
        base, extra = divmod(self.batch_size, C)
        streams = [idx[torch.randperm(len(idx), generator=g)] for idx in self._by_class]
        pos = [0] * C
        for _ in range(self.num_batches):
            quota = [base] * C
            for c in torch.randperm(C, generator=g)[:extra].tolist():
                quota[c] += 1
            batch: list[torch.Tensor] = []
            for c, q in enumerate(quota):
                idx = self._by_class[c]
                if self.replacement:
                    batch.append(idx[torch.randint(len(idx), (q,), generator=g)])
                    continue
                taken: list[torch.Tensor] = []
                need = q
                while need > 0:
                    if pos[c] >= len(streams[c]):
                        streams[c] = idx[torch.randperm(len(idx), generator=g)]
                        pos[c] = 0
                    part = streams[c][pos[c] : pos[c] + need]
                    pos[c] += len(part)
                    need -= len(part)
                    taken.append(part)
                batch.extend(taken)
            out = torch.cat(batch)
            yield out[torch.randperm(len(out), generator=g)].tolist()
