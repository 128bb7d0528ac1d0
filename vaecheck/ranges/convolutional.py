"""Convolution layers: Conv1D-3D, their Transpose, Separable and Depthwise forms, and the
Keras 2 LocallyConnected layers.

Like Dense (`core.py`): the activation on a pre-activation that is the real line, or x·W + b
from the saved kernel over a bounded input (`weight_bounds.py`; zero padding and transposed
borders add 0 to the inputs). Facts: KERAS_FACTS §5.1, §7.
"""

from __future__ import annotations

from vaecheck.ranges.core import with_activation
from vaecheck.ranges.layer_call import Transfer, names

TRANSFERS: dict[str, Transfer] = {
    **dict.fromkeys(
        names("""
            Conv1D Conv2D Conv3D Conv1DTranspose Conv2DTranspose
            Conv3DTranspose SeparableConv1D SeparableConv2D DepthwiseConv1D
            DepthwiseConv2D LocallyConnected1D LocallyConnected2D
            """),
        with_activation,
    ),
}
