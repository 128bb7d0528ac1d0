"""Which targets Keras compares with an output: the shape rules its losses apply.

Keras does not demand that targets have the output's shape. Before the loss (every built-in
loss is a `LossFunctionWrapper`), `keras.losses.loss.squeeze_or_expand_to_same_rank(y_true,
y_pred)` reconciles ranks that differ by one trailing unit axis:

- targets one rank above the output, ending in 1: (N, 28, 28, 1) against (None, 28, 28) is
  compared after squeezing the targets;
- targets one rank below an output ending in 1: (N, 28, 28) against (None, 28, 28, 1) is
  compared after squeezing the output (or, for 1-D targets, expanding them: (N,) against
  (None, 1)).

Sparse categorical losses take class indices: (N,) or (N, 1) against (None, C)
(`sparse_categorical_crossentropy` squeezes a trailing 1 and then wants the output's shape
without its class axis). The rules are the same for tf.keras (`losses_utils.
squeeze_or_expand_dimensions`). Shapes here are per sample (the batch axis left out); a None
dimension of the output matches any size.
"""

from __future__ import annotations

from vaecheck.losses import LossSpec

Dims = tuple[int | None, ...]


def _same(targets: tuple[int, ...], output: Dims) -> bool:
    return len(targets) == len(output) and all(d is None or d == s for d, s in zip(output, targets))


def targets_match(targets: tuple[int, ...], output: Dims, loss: LossSpec | None = None) -> bool:
    """Whether targets with samples of shape `targets` can be compared with an output whose
    samples have shape `output`, as Keras's loss `loss` (or any built-in loss) would."""
    if _same(targets, output):
        return True
    # squeeze_or_expand_to_same_rank: one trailing unit axis more on either side.
    if len(targets) == len(output) + 1 and targets[-1] == 1 and _same(targets[:-1], output):
        return True
    if len(output) == len(targets) + 1 and output[-1] == 1 and _same(targets, output[:-1]):
        return True
    # Class indices, (N,) or (N, 1) against (None, C): the targets of a categorical loss.
    if loss is not None and (loss.is_sparse_categorical or loss.is_categorical_crossentropy):
        leading = output[:-1]
        if _same(targets, leading) or _same(targets, (*leading, 1)):
            return True
    # 1-D targets against a one-unit output whose size the configuration leaves open.
    return targets == () and output == (None,)
