"""The range engine: what values each model output can take, read from the graph alone.

Every tensor gets a `Codomain`: an interval with open or closed ends, or "unknown" with the
layer that made it so and why. The graph is evaluated forward from its inputs (the real line)
through one transfer function per layer class; adding a layer is one function and one line in
its family's `TRANSFERS`, and its class name in `dispatch.FAMILIES`. Activations are exact
images of intervals (`activation_image`): `sigmoid(tanh(x))` is `(sigmoid(-1), sigmoid(1))`,
not `(0, 1)`.

The rule of the house: a range is never narrower than what Keras can output, nor wider than it
must be. An activation bounds its output whatever its input, so it turns an unknown input into a
known range: a VAE's custom `Sampling` layer is unknown, its decoder's final relu is still
[0, inf). Ends are the mathematical ones; float32 saturation (sigmoid reaching 1.0) is the
checks' concern.

Weights. Without them, what depends on them is the real line (a Dense layer's pre-activation, a
PReLU's negative side) or unknown (BatchNormalization's statistics). Given a `WeightSource`,
the graph is evaluated twice: once for the architecture alone, once with the saved weights
(BatchNormalization, adapted Normalization, PReLU's alpha, Dense and convolution kernels after a
bounded input). Each output keeps the architecture's range where that is bounded, and takes an
end from the weights only where the architecture leaves it infinite or unknown: the saved
weights bound what the architecture cannot, but never narrow what it already bounds (training
moves weights; an untrained decoder's sigmoid must still be allowed to reach 0 and 1).

Where things are:

- `evaluate.py`: `output_codomains`, the entry point; merges the two evaluations.
- `dispatch.py`: class name -> family module -> transfer function; float32 overflow.
- `layer_call.py`: `LayerCall`, what a transfer function sees, and helpers they share.
- `activations.py`, `piecewise.py`: activation functions and their exact images.
- `values.py`: numbers read from a layer's configuration.
- `weights.py`, `weight_bounds.py`: reading saved variables; x·W + b over a bounded input.
- one module per family of Keras layers: `core`, `activation_layers`, `convolutional`,
  `pooling`, `reshaping`, `normalization`, `preprocessing`, `regularization`, `recurrent`,
  `wrappers`, `merging`, `attention`; and the op nodes: `keras_ops` (Keras 3 `keras.ops`),
  `tf_functions` (Keras 2 `TFOpLambda`). `arithmetic.py` holds what merges and ops share.
"""
