"""Multilayer perceptrons whose activation, normalization, initialization, dropout and
skip connections are constructor arguments — the knobs that the training-dynamics
questions (vanishing gradients, batch norm, dropout, overfitting) turn.

One hidden layer computes

.. math::

    h_{l} = \\operatorname{drop}\\big(\\phi(\\operatorname{norm}(W_l h_{l-1} + b_l))\\big)

and with ``residual=True`` (and equal widths) :math:`h_l = h_{l-1} + \\operatorname{drop}(\\phi(
\\operatorname{norm}(W_l h_{l-1} + b_l)))`, the identity shortcut of He et al. (2016), *Deep
residual learning for image recognition*. Batch normalization follows Ioffe & Szegedy (2015),
placed between the affine map and the nonlinearity as in their paper.

Initializations (weights drawn per Linear layer, biases set to zero except for ``"default"``):

* ``"default"``: PyTorch's own ``nn.Linear`` init, :math:`U(-1/\\sqrt{n_{in}}, 1/\\sqrt{n_{in}})`.
* ``"xavier"``: :math:`N(0, g^2 \\cdot 2/(n_{in}+n_{out}))`, Glorot & Bengio (2010).
* ``"he"``: :math:`N(0, g^2 \\cdot 2/n_{in})`, He et al. (2015), *Delving deep into rectifiers*.
* ``"scaled"``: :math:`N(0, g^2/n_{in})`; ``init_gain`` :math:`g` sets the scale directly,
  which is what a sweep of "small" versus "large" initialization needs.

For ``"xavier"`` and ``"he"`` the gain :math:`g` is ``init_gain`` (1.0 reproduces the papers).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["MLP", "HiddenLayer", "ACTIVATIONS", "NORMS", "INITS", "make_activation"]

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu")
NORMS = ("none", "batch")
INITS = ("default", "xavier", "he", "scaled")


def make_activation(name: str) -> nn.Module:
    """Return a fresh activation module for ``name`` (one of :data:`ACTIVATIONS`)."""
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "tanh":
        return nn.Tanh()
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.01)
    if name == "elu":
        return nn.ELU()
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def _init_linear(linear: nn.Linear, init: str, gain: float) -> None:
    if init == "default":
        if gain != 1.0:
            # torch's default init is uniform; scaling it keeps its shape but changes the spread
            with torch.no_grad():
                linear.weight.mul_(gain)
        return
    fan_out, fan_in = linear.weight.shape
    if init == "xavier":
        std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    elif init == "he":
        std = gain * math.sqrt(2.0 / fan_in)
    elif init == "scaled":
        std = gain / math.sqrt(fan_in)
    else:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    with torch.no_grad():
        linear.weight.normal_(0.0, std)
        if linear.bias is not None:
            linear.bias.zero_()


class HiddenLayer(nn.Module):
    """One hidden layer of :class:`MLP`: Linear → (BatchNorm1d) → activation → (Dropout),
    optionally inside an identity skip connection.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        activation: one of :data:`ACTIVATIONS`.
        norm: ``"none"`` or ``"batch"``. With batch norm the Linear has no bias, because the
            norm's shift :math:`\\beta` makes it redundant.
        dropout: probability of zeroing each output unit during training.
        residual: add the input to the output; needs ``in_features == out_features``.

    Shape:
        - Input: :math:`(N, H_{in})` (batch norm needs the batch dimension).
        - Output: :math:`(N, H_{out})`.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: str = "relu",
        norm: str = "none",
        dropout: float = 0.0,
        residual: bool = False,
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if residual and in_features != out_features:
            raise ValueError(
                f"a residual layer needs in_features == out_features, got {in_features} and {out_features}"
            )
        self.in_features = in_features
        self.out_features = out_features
        self.residual = residual
        self.linear = nn.Linear(in_features, out_features, bias=(norm == "none"))
        self.norm = nn.BatchNorm1d(out_features) if norm == "batch" else None
        self.act = make_activation(activation)
        self.drop = nn.Dropout(dropout) if dropout > 0 else None

    def forward(self, x: Tensor) -> Tensor:
        h = self.linear(x)
        if self.norm is not None:
            h = self.norm(h)
        h = self.act(h)
        if self.drop is not None:
            h = self.drop(h)
        return x + h if self.residual else h

    def extra_repr(self) -> str:
        return f"residual={self.residual}" if self.residual else ""


class MLP(nn.Module):
    """A multilayer perceptron for classification or regression, built from arguments.

    ``depth`` hidden layers of width ``hidden`` (see :class:`HiddenLayer`), then a linear
    output layer ``head`` that returns logits (no activation). The hidden layers are
    ``model.layers[0] .. model.layers[depth-1]``; their parameters are named
    ``layers.{i}.linear.weight`` (and ``layers.{i}.norm.weight`` with batch norm).

    Args:
        in_features: input size.
        out_features: output size (number of classes for classification).
        hidden: width of every hidden layer.
        depth: number of hidden layers (0 gives a linear model).
        activation: ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"`` (slope 0.01) or
            ``"elu"``.
        norm: ``"none"`` or ``"batch"`` (BatchNorm1d before each activation).
        init: ``"default"``, ``"xavier"``, ``"he"`` or ``"scaled"`` (see the module docstring);
            applied to every Linear layer including the head.
        init_gain: the gain :math:`g` of the chosen init.
        dropout: dropout probability after each hidden activation (inverted dropout: kept units
            are scaled by :math:`1/(1-p)` during training, so inference uses the weights as they
            are — the "weight scaling" rule of Srivastava et al. 2014).
        residual: wrap each hidden layer whose input and output widths match (all but the
            first, unless ``in_features == hidden``) in an identity skip connection.
        input_dropout: dropout probability applied to the inputs.

    Shape:
        - Input: :math:`(N, H_{in})`; any trailing dimensions are flattened, so
          :math:`(N, C, H, W)` images work too.
        - Output: :math:`(N, H_{out})`.

    Example::

        >>> net = MLP(64, 10, hidden=32, depth=3, activation="tanh", norm="batch")
        >>> net(torch.randn(8, 64)).shape
        torch.Size([8, 10])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden: int = 64,
        depth: int = 2,
        activation: str = "relu",
        norm: str = "none",
        init: str = "default",
        init_gain: float = 1.0,
        dropout: float = 0.0,
        residual: bool = False,
        input_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        if depth < 0:
            raise ValueError(f"depth must be >= 0, got {depth}")
        if not 0.0 <= input_dropout < 1.0:
            raise ValueError(f"input_dropout must be in [0, 1), got {input_dropout}")
        self.in_features = in_features
        self.out_features = out_features
        self.hidden = hidden
        self.depth = depth
        self.activation = activation
        self.norm = norm
        self.init = init
        self.init_gain = init_gain
        self.dropout = dropout
        self.residual = residual
        self.input_dropout = input_dropout
        self.input_drop = nn.Dropout(input_dropout) if input_dropout > 0 else None
        layers = []
        width = in_features
        for _ in range(depth):
            layers.append(
                HiddenLayer(
                    width,
                    hidden,
                    activation=activation,
                    norm=norm,
                    dropout=dropout,
                    residual=residual and width == hidden,
                )
            )
            width = hidden
        self.layers = nn.ModuleList(layers)
        self.head = nn.Linear(width, out_features)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw every weight with the configured init (norm layers back to γ=1, β=0)."""
        for layer in self._hidden():
            layer.linear.reset_parameters()
            _init_linear(layer.linear, self.init, self.init_gain)
            if layer.norm is not None:
                layer.norm.reset_parameters()
        self.head.reset_parameters()
        _init_linear(self.head, self.init, self.init_gain)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() > 2:
            x = x.flatten(1)
        if self.input_drop is not None:
            x = self.input_drop(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(x)

    def linears(self) -> list[nn.Linear]:
        """All Linear layers in order, hidden layers first and the head last."""
        return [layer.linear for layer in self._hidden()] + [self.head]

    def _hidden(self) -> list[HiddenLayer]:
        return [layer for layer in self.layers if isinstance(layer, HiddenLayer)]

    def extra_repr(self) -> str:
        parts = [
            f"in_features={self.in_features}",
            f"out_features={self.out_features}",
            f"hidden={self.hidden}",
            f"depth={self.depth}",
            f"activation={self.activation!r}",
            f"norm={self.norm!r}",
            f"init={self.init!r}",
        ]
        if self.init_gain != 1.0:
            parts.append(f"init_gain={self.init_gain}")
        if self.dropout:
            parts.append(f"dropout={self.dropout}")
        if self.input_dropout:
            parts.append(f"input_dropout={self.input_dropout}")
        if self.residual:
            parts.append("residual=True")
        return ", ".join(parts)
