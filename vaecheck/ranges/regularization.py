"""Regularization layers: Dropout and its kinds, GaussianNoise, ActivityRegularization.

At inference they are the identity. Facts: KERAS_FACTS §5.2 (identity at inference).
"""

from __future__ import annotations

from vaecheck.ranges.layer_call import Transfer, identity, names

TRANSFERS: dict[str, Transfer] = {
    # identity at inference (§5.2)
    **dict.fromkeys(
        names("""
            Dropout SpatialDropout1D SpatialDropout2D SpatialDropout3D GaussianNoise
            GaussianDropout AlphaDropout ActivityRegularization
            """),
        identity,
    ),
}
