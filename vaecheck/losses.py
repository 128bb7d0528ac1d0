"""The loss a model was compiled with, read from `compile_config` / `training_config`.

Keras writes a loss in four forms (KERAS_FACTS §1.6): the string the user passed (`"mse"`,
`"BCE"`, `"BinaryCrossentropy"`), a loss object (`{"class_name": "BinaryCrossentropy",
"config": {"from_logits": true, ...}}`, with a `module` key in Keras 3 files only), a function
(`{"class_name": "function", "config": "binary_crossentropy"}`), and a dict or list of those,
one per output. Every form is reduced to one LossSpec per output; nothing is imported.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vaecheck.errors import VaecheckError
from vaecheck.intervals import INF, Interval

# Every built-in Keras loss: its function name (the canonical name here) and its class name.
CLASS_NAMES = {
    "binary_crossentropy": "BinaryCrossentropy",
    "binary_focal_crossentropy": "BinaryFocalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "categorical_focal_crossentropy": "CategoricalFocalCrossentropy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "kl_divergence": "KLDivergence",
    "poisson": "Poisson",
    "mean_squared_error": "MeanSquaredError",
    "mean_absolute_error": "MeanAbsoluteError",
    "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
    "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError",
    "cosine_similarity": "CosineSimilarity",
    "log_cosh": "LogCosh",
    "huber": "Huber",
    "hinge": "Hinge",
    "squared_hinge": "SquaredHinge",
    "categorical_hinge": "CategoricalHinge",
    "dice": "Dice",
    "tversky": "Tversky",
    "circle": "Circle",
    "ctc": "CTC",
}
# Short names Keras 3 and Keras 2 accept for the same functions.
ALIASES = {
    "bce": "binary_crossentropy",
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "logcosh": "log_cosh",
    "huber_loss": "huber",
    "cce": "categorical_crossentropy",
    "scce": "sparse_categorical_crossentropy",
}
BINARY = frozenset({"binary_crossentropy", "binary_focal_crossentropy"})
CATEGORICAL = frozenset({"categorical_crossentropy", "categorical_focal_crossentropy"})
SPARSE = frozenset({"sparse_categorical_crossentropy"})
WITH_LOGITS = BINARY | CATEGORICAL | SPARSE
HINGE = frozenset({"hinge", "squared_hinge"})
# Losses whose targets are not values the output should produce: class indices, +-1 labels,
# directions, label sequences. Comparing such targets with the output's range means nothing.
NOT_OUTPUT_VALUES = SPARSE | HINGE | frozenset({"categorical_hinge", "cosine_similarity", "ctc", "circle"})
# Where each loss expects its targets to lie.
TARGET_DOMAINS = {
    **{name: Interval.closed(0.0, 1.0) for name in BINARY | CATEGORICAL},
    "kl_divergence": Interval.closed(0.0, 1.0),
    "poisson": Interval(0.0, INF, True, False),
    "mean_squared_logarithmic_error": Interval(0.0, INF, True, False),
}
KERAS_MODULES = ("keras", "tf_keras", "builtins", "tensorflow")


def _key(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


# Case- and underscore-insensitive look-up: "BinaryCrossentropy", "binary_crossentropy", "BCE".
_LOOKUP = {
    **{_key(name): name for name in CLASS_NAMES},
    **{_key(cls): name for name, cls in CLASS_NAMES.items()},
    **{_key(alias): name for alias, name in ALIASES.items()},
}


@dataclass(frozen=True)
class LossSpec:
    """One output's loss, as far as the saved configuration (or the user) states it."""

    name: str  # canonical function name ("binary_crossentropy"), or a custom loss's own name
    from_logits: bool | None = None  # None: the loss has no such option, or it was not stated
    axis: int = -1  # the class axis of the cross-entropies
    ignore_class: int | None = None  # sparse categorical cross-entropy's label to skip
    known: bool = True  # a built-in Keras loss; custom losses are shown but never judged
    origin: str = field(default="", compare=False)  # "compile_config", "training_config", "--loss"

    @property
    def is_binary_crossentropy(self) -> bool:
        return self.name in BINARY

    @property
    def is_categorical_crossentropy(self) -> bool:
        return self.name in CATEGORICAL

    @property
    def is_sparse_categorical(self) -> bool:
        return self.name in SPARSE

    @property
    def is_hinge(self) -> bool:
        return self.name in HINGE

    @property
    def takes_logits(self) -> bool:
        """Whether the loss has a `from_logits` option."""
        return self.name in WITH_LOGITS

    @property
    def logits(self) -> bool:
        return self.takes_logits and self.from_logits is True

    @property
    def expects_probabilities(self) -> bool:
        """A cross-entropy computed from probabilities: the output must lie in [0, 1]."""
        return self.takes_logits and not self.from_logits

    @property
    def targets_are_output_values(self) -> bool:
        """Whether a target is a value the output should produce (so ranges can be compared).

        Not for logits (the output is a logit, the target a probability), class indices, hinge
        labels or directions. A custom loss counts as comparing values: it is most often a
        reconstruction loss.
        """
        return not self.logits and self.name not in NOT_OUTPUT_VALUES

    @property
    def target_domain(self) -> Interval | None:
        """Where the loss needs its targets, when it needs them somewhere."""
        return TARGET_DOMAINS.get(self.name) if self.known else None

    @property
    def class_name(self) -> str | None:
        return CLASS_NAMES.get(self.name)

    def describe(self) -> str:
        """What a report shows: `binary_crossentropy (from_logits=True)`."""
        if self.from_logits is not None and self.takes_logits:
            return f"{self.name} (from_logits={self.from_logits})"
        return self.name

    def code(self, **options: Any) -> str:
        """The loss as Keras source, with `options` changed: `keras.losses.X(from_logits=True)`."""
        if self.class_name is None:
            return repr(self.name)
        arguments = dict(options)
        if self.takes_logits and "from_logits" not in arguments and self.from_logits:
            arguments["from_logits"] = True
        shown = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
        return f"keras.losses.{self.class_name}({shown})"


def canonical_loss_name(name: str) -> str:
    """The function name of a built-in loss under any of its spellings; other names as given."""
    if ">" in name:  # a registered custom loss: "package>name"
        return name
    return _LOOKUP.get(_key(name), name)


def is_known_loss(name: str) -> bool:
    return ">" not in name and _key(name) in _LOOKUP


def loss_spec(entry: Any, origin: str = "") -> LossSpec | None:
    """One loss as Keras serialised it: a string, a loss object or a function dict."""
    if isinstance(entry, str):
        return _spec(entry, origin)
    if not isinstance(entry, Mapping):
        return None
    class_name = entry.get("class_name")
    config = entry.get("config")
    if not isinstance(class_name, str):
        return None
    module = entry.get("module")
    # Keras 3 names the module; a class from __main__ (module null) or a user package is custom.
    custom = "module" in entry and not (
        isinstance(module, str) and module.split(".", 1)[0] in KERAS_MODULES
    )
    if class_name == "function" and isinstance(config, str):
        return _spec(config, origin, custom=custom)
    options = config if isinstance(config, Mapping) else {}
    if class_name == "LossFunctionWrapper":
        wrapped = loss_spec(options.get("fn"), origin)
        if wrapped is None:
            return LossSpec(class_name, known=False, origin=origin)
        return _with_options(wrapped, options)
    return _with_options(_spec(class_name, origin, custom=custom), options)


def _spec(name: str, origin: str, custom: bool = False) -> LossSpec:
    if custom or not is_known_loss(name):
        return LossSpec(name, known=False, origin=origin)
    return LossSpec(canonical_loss_name(name), origin=origin)


def _with_options(spec: LossSpec, options: Mapping[str, Any]) -> LossSpec:
    if not spec.known:
        return spec
    from_logits = options.get("from_logits")
    axis = options.get("axis", -1)
    ignore_class = options.get("ignore_class")
    return LossSpec(
        spec.name,
        from_logits=from_logits if isinstance(from_logits, bool) else spec.from_logits,
        axis=axis if _is_int(axis) else -1,
        ignore_class=ignore_class if _is_int(ignore_class) else None,
        origin=spec.origin,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class LossAssignment:
    """The loss of each output, and anything about the assignment a user should know."""

    by_output: Mapping[str, LossSpec]
    notes: tuple[str, ...] = ()


def losses_by_output(
    training: Mapping[str, Any] | None,
    outputs: Sequence[str],
    *,
    keyed_outputs: bool = False,
    origin: str = "compile_config",
) -> dict[str, LossSpec]:
    """The loss of each named output, from a compile or training config."""
    return dict(assign_losses(training, outputs, keyed_outputs=keyed_outputs, origin=origin).by_output)


def assign_losses(
    training: Mapping[str, Any] | None,
    outputs: Sequence[str],
    *,
    keyed_outputs: bool = False,
    origin: str = "compile_config",
) -> LossAssignment:
    """Match the saved loss (one for all, a dict by output name, or a list) to the outputs.

    `keyed_outputs` says the model's outputs are a dict: Keras then pairs a loss *list* with
    the outputs in sorted key order, not in the order the dict was written.
    """
    loss = training.get("loss") if training else None
    if loss is None:
        return LossAssignment({})
    if isinstance(loss, Mapping) and "class_name" not in loss:
        by_output = {
            name: spec for name, entry in loss.items() if (spec := loss_spec(entry, origin))
        }
        unmatched = sorted(set(loss) - set(outputs))
        notes = tuple(
            f"the saved loss for '{name}' matches no output of the model" for name in unmatched
        )
        return LossAssignment({k: v for k, v in by_output.items() if k in outputs}, notes)
    if isinstance(loss, list):
        order = sorted(outputs) if keyed_outputs else list(outputs)
        by_output = {
            name: spec for name, entry in zip(order, loss) if (spec := loss_spec(entry, origin))
        }
        notes = ()
        if len(loss) != len(outputs):
            notes = (
                f"the saved loss list has {len(loss)} {'entry' if len(loss) == 1 else 'entries'} "
                f"for {len(outputs)} outputs",
            )
        return LossAssignment(by_output, notes)
    spec = loss_spec(loss, origin)
    return LossAssignment({name: spec for name in outputs} if spec else {})


def parse_loss_option(text: str) -> LossSpec:
    """The loss a user names on the command line: `NAME` or `NAME:from_logits[=true|false]`.

    NAME is any spelling Keras accepts: `binary_crossentropy`, `BinaryCrossentropy`, `bce`.
    """
    name, _, option = text.strip().partition(":")
    name = name.strip()
    if not is_known_loss(name):
        known = sorted({*CLASS_NAMES, *ALIASES})
        close = difflib.get_close_matches(name.lower(), known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else f" (Keras losses: {', '.join(sorted(CLASS_NAMES))})"
        raise VaecheckError(f"--loss: '{name}' is not a Keras loss{hint}")
    spec = LossSpec(canonical_loss_name(name), origin="--loss")
    if not option:
        return spec
    key, _, value = option.partition("=")
    if key.strip().lower() != "from_logits":
        raise VaecheckError(f"--loss: unknown option '{option}' (the one option is from_logits)")
    if not spec.takes_logits:
        raise VaecheckError(f"--loss: {spec.name} has no from_logits option")
    value = value.strip().lower() or "true"
    if value not in ("true", "false", "1", "0"):
        raise VaecheckError(f"--loss: from_logits must be true or false, not '{value}'")
    return LossSpec(spec.name, from_logits=value in ("true", "1"), origin="--loss")
