"""Which transfer function bounds a layer class, found by its class name.

`FAMILIES` names each family module of this package and the class names it bounds; a family's
module is imported the first time one of its classes is met, so a model of five layers loads
no more than the families it uses. A class no family holds is unknown: "not supported" for a
Keras layer or op, "custom layer" otherwise. Results are taken as float32 holds them (an end
past float32's largest is infinite). Facts: KERAS_FACTS §5 (layers and their effect on the
range), §1.3 (`module` and `class_name` of a layer).
"""

from __future__ import annotations

import importlib
from dataclasses import replace

import numpy as np

from vaecheck.codomain import Codomain
from vaecheck.intervals import INF, Interval
from vaecheck.ranges.activations import is_keras_module
from vaecheck.ranges.layer_call import LayerCall, Outputs, Transfer
from vaecheck.ranges.values import ConfigProblem

MAX_WRAPPER_DEPTH = 16


def transfer(call: LayerCall) -> Outputs:
    """The codomain(s) a layer call produces, by its class's transfer function."""
    if call.depth > MAX_WRAPPER_DEPTH:
        return Codomain.unknown(call.label, "layers wrapped more than 16 deep")
    if call.module is not None and (call.module == "onnx" or call.module.startswith("onnx:")):
        # Nodes the ONNX reader made (module "onnx" or "onnx:<domain>") have their own table.
        from vaecheck.ranges.onnx import onnx_transfer

        function = onnx_transfer(call)
    else:
        function = transfer_function(call.op)
    if function is None:
        return Codomain.unknown(call.label, unsupported_reason(call.op, call.module))
    try:
        outputs = function(call)
    except (ConfigProblem, ValueError, TypeError, ArithmeticError, KeyError, IndexError) as exc:
        return Codomain.unknown(
            call.label, f"{call.op}: cannot interpret its configuration ({exc})"
        )
    if isinstance(outputs, tuple):
        return tuple(in_float32(c) for c in outputs)
    return in_float32(outputs)


FLOAT32_MAX = float(np.finfo(np.float32).max)
OVERFLOW_NOTE = "values past float32's largest, 3.4e38, overflow to inf"


def in_float32(codomain: Codomain) -> Codomain:
    """The range as float32 tensors hold it: an end past float32's largest value is infinite,
    since Keras computes in float32 and such values overflow (exp(exp(6)) is inf)."""
    interval = codomain.interval
    if interval is None:
        return codomain
    low, low_closed = interval.low, interval.low_closed
    high, high_closed = interval.high, interval.high_closed
    overflows_high = FLOAT32_MAX < high < INF
    overflows_low = -INF < low < -FLOAT32_MAX
    if not (overflows_high or overflows_low):
        return codomain
    if overflows_high:
        high, high_closed = INF, False
        low, low_closed = min(low, FLOAT32_MAX), low_closed or low > FLOAT32_MAX
    if overflows_low:
        low, low_closed = -INF, False
        high, high_closed = max(high, -FLOAT32_MAX), high_closed or high < -FLOAT32_MAX
    widened = replace(codomain, interval=Interval(low, high, low_closed, high_closed))
    return widened if OVERFLOW_NOTE in codomain.notes else widened.with_note(OVERFLOW_NOTE)


def unsupported_reason(op: str, module: str | None) -> str:
    if module is not None and module.startswith(("keras.src.ops", "keras.ops")):
        return f"the {op} op is not supported by the range engine"
    if op in KERAS_LAYERS_NOT_INTERPRETED:
        return f"the {op} layer is not supported by the range engine"
    if module is None:
        return f"custom layer {op} (module null)"
    if is_keras_module(module):
        return f"{op} ({module}) is not supported by the range engine"
    return f"custom layer {op} (module {module})"


# Keras layer classes (Keras 3 and tf_keras) with no transfer function yet: their range is
# unknown, and the reason says "not supported" rather than "custom layer".
KERAS_LAYERS_NOT_INTERPRETED = frozenset(
    """AugMix AutoContrast CategoryEncoding CenterCrop ContrastLimitedAdaptiveHistogramEqualization
    CutMix DenseFeatures Discretization Equalization FlaxLayer HashedCrossing Hashing
    IntegerLookup JaxLayer MaxNumBoundingBoxes MelSpectrogram MixUp Pipeline RandAugment
    RandomBrightness RandomColorDegeneration RandomColorJitter RandomContrast RandomCrop
    RandomElasticTransform RandomErasing RandomFlip RandomGaussianBlur RandomGrayscale
    RandomHeight RandomHue RandomInvert RandomPerspective RandomPosterization RandomRotation
    RandomSaturation RandomSharpness RandomShear RandomTranslation RandomWidth RandomZoom
    Resizing ReversibleEmbedding STFTSpectrogram Solarization StringLookup TFSMLayer
    TextVectorization TorchModuleWrapper Wrapper Layer AbstractRNNCell StackedRNNCells
    SimpleRNNCell GRUCell LSTMCell Functional Sequential Model""".split()
)


# Each family module and the class names its TRANSFERS holds (tests check the two agree).
FAMILIES: dict[str, str] = {
    "core": "InputLayer Identity Masking Dense EinsumDense Lambda Embedding",
    "activation_layers": "Activation ReLU LeakyReLU ELU Softmax PReLU ThresholdedReLU",
    "convolutional": """
        Conv1D Conv2D Conv3D Conv1DTranspose Conv2DTranspose Conv3DTranspose SeparableConv1D
        SeparableConv2D DepthwiseConv1D DepthwiseConv2D LocallyConnected1D LocallyConnected2D
    """,
    "pooling": """
        MaxPooling1D MaxPooling2D MaxPooling3D GlobalMaxPooling1D GlobalMaxPooling2D
        GlobalMaxPooling3D AdaptiveMaxPooling1D AdaptiveMaxPooling2D AdaptiveMaxPooling3D
        AveragePooling1D AveragePooling2D AveragePooling3D GlobalAveragePooling1D
        GlobalAveragePooling2D GlobalAveragePooling3D AdaptiveAveragePooling1D
        AdaptiveAveragePooling2D AdaptiveAveragePooling3D
    """,
    "reshaping": """
        Reshape Flatten Permute RepeatVector Cropping1D Cropping2D Cropping3D UpSampling1D
        UpSampling3D UpSampling2D ZeroPadding1D ZeroPadding2D ZeroPadding3D
    """,
    "normalization": """
        UnitNormalization BatchNormalization LayerNormalization GroupNormalization
        RMSNormalization
    """,
    "preprocessing": "Rescaling Normalization",
    "regularization": """
        Dropout SpatialDropout1D SpatialDropout2D SpatialDropout3D GaussianNoise GaussianDropout
        AlphaDropout ActivityRegularization
    """,
    "recurrent": "SimpleRNN GRU LSTM ConvLSTM1D ConvLSTM2D ConvLSTM3D RNN",
    "wrappers": "Bidirectional TimeDistributed SpectralNormalization",
    "merging": "Add Subtract Multiply Maximum Minimum Average Concatenate Dot",
    "attention": "Attention AdditiveAttention MultiHeadAttention GroupedQueryAttention",
    "keras_ops": """
        StopGradient Copy Transpose Squeeze ExpandDims Ravel GetItem Flip Roll Tile Repeat
        BroadcastTo Moveaxis Swapaxes Slice Take TakeAlongAxis Sort MaxPool AveragePool
        AdaptiveMaxPool AdaptiveAveragePool Mean Max Min Amax Amin Median Sum Cast Divide
        TrueDivide Stack Hstack Vstack Where Relu Relu6 Sigmoid SparseSigmoid Softplus Softsign
        SoftShrink SparsePlus Silu Squareplus LogSigmoid LeakyRelu HardSigmoid HardSilu Elu Selu
        Gelu Celu Glu TanhShrink HardTanh HardShrink Threshold LogSoftmax Sparsemax Mish Tanh
        Exp Negative Absolute Abs Fabs Square Sqrt Exp2 Expm1 Log Log1p Sign Erf Arctan
        Reciprocal Power Clip
    """,
    "tf_functions": "TFOpLambda SlicingOpLambda",
}
FAMILY_OF: dict[str, str] = {
    name: family for family, block in FAMILIES.items() for name in block.split()
}
_loaded: dict[str, Transfer] = {}


def transfer_function(op: str) -> Transfer | None:
    """The transfer function of the class `op`, importing its family on first use; None for a
    class no family holds."""
    function = _loaded.get(op)
    if function is None:
        family = FAMILY_OF.get(op)
        if family is None:
            return None
        _loaded.update(importlib.import_module(f"vaecheck.ranges.{family}").TRANSFERS)
        function = _loaded[op]
    return function


def all_transfers() -> dict[str, Transfer]:
    """Every family's transfer functions by class name, every family imported."""
    for family in FAMILIES:
        _loaded.update(importlib.import_module(f"vaecheck.ranges.{family}").TRANSFERS)
    return dict(_loaded)
