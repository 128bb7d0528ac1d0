"""Pooling layers: max, average, global and adaptive pooling in 1-3 dimensions.

Max pooling picks input values and average pooling makes convex combinations of them, so the
output stays inside the input's range. Facts: KERAS_FACTS §5.3 (value subsets), §5.4 (convex
combinations).
"""

from __future__ import annotations

from vaecheck.ranges.layer_call import Transfer, names, values_subset

TRANSFERS: dict[str, Transfer] = {
    # value subsets (§5.3) and convex combinations (§5.4)
    **dict.fromkeys(
        names("""
            MaxPooling1D MaxPooling2D MaxPooling3D GlobalMaxPooling1D GlobalMaxPooling2D
            GlobalMaxPooling3D AdaptiveMaxPooling1D AdaptiveMaxPooling2D
            AdaptiveMaxPooling3D AveragePooling1D
            AveragePooling2D AveragePooling3D GlobalAveragePooling1D
            GlobalAveragePooling2D GlobalAveragePooling3D AdaptiveAveragePooling1D
            AdaptiveAveragePooling2D AdaptiveAveragePooling3D
            """),
        values_subset,
    ),
}
