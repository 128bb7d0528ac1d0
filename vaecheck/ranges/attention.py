"""Attention layers: Attention, AdditiveAttention, MultiHeadAttention, GroupedQueryAttention.

Softmax weights average the value rows, a convex combination; the multi-head layers end in a
linear projection, the real line. Facts: KERAS_FACTS §5.4, §5.7.
"""

from __future__ import annotations

from vaecheck.codomain import Codomain
from vaecheck.ranges.layer_call import LayerCall, Outputs, Transfer, codomains_in, without_simplex
from vaecheck.ranges.piecewise import UNIT
from vaecheck.ranges.values import ConfigProblem


def _attention(call: LayerCall) -> Outputs:
    """Attention, AdditiveAttention: softmax weights average the value rows (convex)."""
    if call.kwargs.get("return_attention_scores"):
        return Codomain.unknown(call.label, "attention that also returns its scores")
    tensors = codomains_in(call.args)
    if not tensors:
        raise ConfigProblem("no inputs")
    return without_simplex(tensors[1] if len(tensors) > 1 else tensors[0])


def _projected(call: LayerCall) -> Outputs:
    """MultiHeadAttention, GroupedQueryAttention end in a linear projection: the real line."""
    if call.kwargs.get("return_attention_scores"):
        return (Codomain.real_line(), Codomain(interval=UNIT))
    return Codomain.real_line()


TRANSFERS: dict[str, Transfer] = {
    "Attention": _attention,
    "AdditiveAttention": _attention,
    "MultiHeadAttention": _projected,
    "GroupedQueryAttention": _projected,
}
