"""Keras 2 TFOpLambda nodes: a TensorFlow function (`tf.math.sigmoid`, `tf.nn.relu`, ...)
called on a tensor in a functional model, and SlicingOpLambda.

Each TensorFlow function is mapped to the activation or op it computes; any other is unknown.
Facts: KERAS_FACTS §2 (legacy HDF5 configs, where these nodes appear), §4.1.
"""

from __future__ import annotations

from vaecheck.codomain import Codomain
from vaecheck.ranges.activations import Params, named_activation
from vaecheck.ranges.keras_ops import (
    TRANSFERS as KERAS_OPS,
    clip_op,
    negative_op,
    power_op,
    reciprocal_op,
    sum_op,
)
from vaecheck.ranges.layer_call import (
    LayerCall,
    Outputs,
    Transfer,
    activate_input,
    names,
    values_subset,
)
from vaecheck.ranges.merging import TRANSFERS as MERGES, concatenate, where_op


def _tf_activation(name: str, **renamed: str) -> Transfer:
    def tf_activation(call: LayerCall) -> Outputs:
        values = {
            renamed.get(k, k): v for k, v in call.kwargs.items() if k in renamed or k == "axis"
        }
        activation = named_activation(name, Params(values), call.keras_major)
        return activate_input(call, activation)

    return tf_activation


def _tf_op_lambda(call: LayerCall) -> Outputs:
    function = call.config.get("function")
    handler = TF_FUNCTIONS.get(function) if isinstance(function, str) else None
    if handler is None:
        return Codomain.unknown(
            call.label, f"TensorFlow function tf.{function} is not supported by the range engine"
        )
    return handler(call)


TRANSFERS: dict[str, Transfer] = {
    "TFOpLambda": _tf_op_lambda,
    "SlicingOpLambda": values_subset,
}

TF_FUNCTIONS: dict[str, Transfer] = {
    **{f: _tf_activation("sigmoid") for f in ("math.sigmoid", "nn.sigmoid", "sigmoid")},
    **{f: _tf_activation("tanh") for f in ("math.tanh", "nn.tanh", "tanh")},
    "nn.relu": _tf_activation("relu"),
    "nn.relu6": _tf_activation("relu6"),
    "nn.elu": _tf_activation("elu"),
    "nn.selu": _tf_activation("selu"),
    **{f: _tf_activation("softplus") for f in ("math.softplus", "nn.softplus")},
    **{f: _tf_activation("softsign") for f in ("math.softsign", "nn.softsign")},
    **{f: _tf_activation("softmax") for f in ("nn.softmax", "math.softmax")},
    **{f: _tf_activation("log_softmax") for f in ("nn.log_softmax", "math.log_softmax")},
    "math.log_sigmoid": _tf_activation("log_sigmoid"),
    "nn.leaky_relu": _tf_activation("leaky_relu", alpha="negative_slope"),
    "nn.gelu": _tf_activation("gelu", approximate="approximate"),
    **{f: _tf_activation("silu", beta="beta") for f in ("nn.silu", "nn.swish", "math.silu")},
    **{f: KERAS_OPS["Exp"] for f in ("math.exp", "exp")},
    **{f: MERGES["Add"] for f in ("math.add", "__operators__.add", "math.add_v2")},
    "math.subtract": MERGES["Subtract"],
    "math.multiply": MERGES["Multiply"],
    **{
        f: KERAS_OPS["TrueDivide"] for f in ("math.truediv", "math.divide", "__operators__.truediv")
    },
    "math.maximum": MERGES["Maximum"],
    "math.minimum": MERGES["Minimum"],
    "math.negative": negative_op,
    "math.abs": KERAS_OPS["Abs"],
    "math.square": KERAS_OPS["Square"],
    "math.sqrt": KERAS_OPS["Sqrt"],
    "math.log": KERAS_OPS["Log"],
    "math.log1p": KERAS_OPS["Log1p"],
    "math.expm1": KERAS_OPS["Expm1"],
    "math.sign": KERAS_OPS["Sign"],
    "math.erf": KERAS_OPS["Erf"],
    "math.atan": KERAS_OPS["Arctan"],
    "math.reciprocal": reciprocal_op,
    "math.pow": power_op,
    "clip_by_value": clip_op,
    **dict.fromkeys(["math.reduce_mean", "math.reduce_max", "math.reduce_min"], values_subset),
    "math.reduce_sum": sum_op,
    **dict.fromkeys(
        names("""
            reshape transpose expand_dims squeeze identity __operators__.getitem
            compat.v1.transpose stop_gradient
            """),
        values_subset,
    ),
    **dict.fromkeys(["concat", "stack"], concatenate),
    **dict.fromkeys(["where", "where_v2"], where_op),
}
