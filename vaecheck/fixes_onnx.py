"""The fix, phrased for the framework that made an ONNX model.

An ONNX file names its maker in `producer_name` ("pytorch", "tf2onnx", "jax2onnx",
"skl2onnx"). The numbers of a fix do not depend on the framework; its words do: a PyTorch user
removes a final `nn.Sigmoid()` rather than passing `activation=None`, and appends
`y = y * s + o` in `forward()` rather than a `keras.layers.Rescaling` layer. Models from
Keras (through tf2onnx) keep the Keras phrasing; a producer vaecheck does not know gets words
that name no framework.
"""

from __future__ import annotations

from dataclasses import replace

from vaecheck.codomain import Codomain
from vaecheck.intervals import Interval
from vaecheck.report import Finding, Fix

PYTORCH, KERAS, JAX, SKLEARN, GENERIC = "pytorch", "keras", "jax", "scikit-learn", "onnx"

ACTIVATION_CODE: dict[str, dict[str, str]] = {
    PYTORCH: {
        "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()", "relu": "nn.ReLU()",
        "softmax": "nn.Softmax(dim=-1)", "log_softmax": "nn.LogSoftmax(dim=-1)",
        "softplus": "nn.Softplus()", "softsign": "nn.Softsign()", "elu": "nn.ELU()",
        "selu": "nn.SELU()", "celu": "nn.CELU()", "gelu": "nn.GELU()", "mish": "nn.Mish()",
        "leaky_relu": "nn.LeakyReLU()", "hard_sigmoid": "nn.Hardsigmoid()",
        "hard_silu": "nn.Hardswish()", "exponential": "torch.exp", "erf": "torch.erf",
        "abs": "torch.abs",
    },
    JAX: {
        "sigmoid": "jax.nn.sigmoid", "tanh": "jnp.tanh", "relu": "jax.nn.relu",
        "softmax": "jax.nn.softmax", "log_softmax": "jax.nn.log_softmax",
        "softplus": "jax.nn.softplus", "softsign": "jax.nn.soft_sign", "elu": "jax.nn.elu",
        "selu": "jax.nn.selu", "celu": "jax.nn.celu", "gelu": "jax.nn.gelu",
        "leaky_relu": "jax.nn.leaky_relu", "hard_sigmoid": "jax.nn.hard_sigmoid",
        "hard_silu": "jax.nn.hard_swish", "exponential": "jnp.exp", "erf": "jax.scipy.special.erf",
        "abs": "jnp.abs", "mish": "jax.nn.mish",
    },
    SKLEARN: {
        "sigmoid": "activation='logistic'", "tanh": "activation='tanh'",
        "relu": "activation='relu'", "softmax": "the classifier's softmax",
    },
}  # fmt: skip
# How each framework writes "this activation": a PyTorch module, a JAX function.
FUNCTION_CODE = {PYTORCH: {"sigmoid": "torch.sigmoid", "tanh": "torch.tanh"}}


# Ends widened for onnxruntime's float32 rounding (vaecheck.ranges.onnx) are a few float32 steps
# past the exact ones; the fix's numbers are computed from the exact ends, found by rounding.
SNAP_DIGITS = 6
SNAP_RELATIVE = 2e-6


def exact_ends(codomain: Codomain) -> Codomain:
    """`codomain` with each end that lies within a few float32 steps of a number of six
    significant digits moved onto that number: 1.0000005 becomes 1."""
    interval = codomain.interval
    if interval is None:
        return codomain

    def snapped(end: float) -> float:
        if end == 0 or end != end or abs(end) == float("inf"):
            return end
        rounded = float(f"{end:.{SNAP_DIGITS}g}")
        return rounded if abs(rounded - end) <= SNAP_RELATIVE * abs(end) else end

    low, high = snapped(interval.low), snapped(interval.high)
    if (low, high) == (interval.low, interval.high) or low > high:
        return codomain
    moved = Interval(low, high, interval.low_closed, interval.high_closed) if low < high else Interval.point(low)
    return replace(codomain, interval=moved)


def framework_of(producer_name: str | None) -> str:
    name = (producer_name or "").lower()
    if "torch" in name:
        return PYTORCH
    if "tf2onnx" in name or "keras" in name or "tensorflow" in name:
        return KERAS
    if "jax" in name:
        return JAX
    if "skl2onnx" in name or "sklearn" in name:
        return SKLEARN
    return GENERIC


def activation_code(framework: str, activation: str) -> str:
    base = activation.split("(", 1)[0]
    return ACTIVATION_CODE.get(framework, {}).get(base, base)


def phrased_for(fix: Fix, framework: str, codomain: Codomain) -> Fix:
    """`fix` in the words of `framework` (Keras's own words stay as they are)."""
    if framework == KERAS or fix.kind == "none":
        return fix
    activation = codomain.activation_name() or "the output"
    code = activation_code(framework, activation)
    summary = fix.summary.replace("use a linear output (activation=None)", _linear_output(framework, code))
    summary = summary.replace(f"the range of {activation}", f"the range of {code}")
    alternative = fix.alternative
    if alternative is not None:
        alternative = _without_keras_layer(alternative, framework, code)
        if fix.rescale_for:
            alternative = alternative.replace(
                f"bounded output: {fix.rescale_for},",
                f"bounded output: {activation_code(framework, fix.rescale_for)},",
            )
    summary = summary.replace(", or use a linear output", f", or {_linear_output(framework, code)}")
    return replace(fix, summary=summary, alternative=alternative, framework=framework)


def _linear_output(framework: str, code: str) -> str:
    if framework == SKLEARN:
        return "use a regressor's identity output (MLPRegressor)"
    if framework in (PYTORCH, JAX):
        return f"use a linear output (remove the final {code})"
    return "use a linear output (remove the final activation)"


def _without_keras_layer(text: str, framework: str, code: str) -> str:
    """The "append keras.layers.Rescaling(...) after the X" alternative, for `framework`."""
    marker = "append keras.layers.Rescaling(scale="
    if marker not in text:
        return text
    head, rest = text.split(marker, 1)
    numbers, _, tail = rest.partition(")")
    scale, _, offset = numbers.partition(", offset=")
    if framework == PYTORCH:
        function = FUNCTION_CODE[PYTORCH].get(code.split("(")[0].lower().replace("nn.", ""), code)
        step = f"y = {function}(z) * {scale} + {offset} in forward()"
        return f"{head}compute {step}, instead of the {code} alone"
    tail = tail.replace(" after the ", " after ")
    return f"{head}multiply the output by {scale} and add {offset}{tail}"


def phrase_findings(findings: tuple[Finding, ...], framework: str, codomain: Codomain) -> tuple[Finding, ...]:
    return tuple(
        replace(f, fix=phrased_for(f.fix, framework, codomain)) if f.fix is not None else f
        for f in findings
    )

