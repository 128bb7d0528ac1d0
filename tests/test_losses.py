"""The loss, read from real saved models in every encoding Keras writes, and from --loss."""

from __future__ import annotations

import pytest

from vaecheck.errors import VaecheckError
from vaecheck.losses import LossSpec, assign_losses, loss_spec, parse_loss_option
from vaecheck.readers.model import read_model


def single(loss_factory):
    """A one-output model compiled with the loss `loss_factory(keras)` builds."""

    def build(keras):
        x = keras.Input((4,), name="x")
        model = keras.Model(x, keras.layers.Dense(3, activation="sigmoid", name="out")(x))
        model.compile(optimizer="adam", loss=loss_factory(keras))
        return model

    return build


def two_outputs(loss_factory, as_dict=False):
    def build(keras):
        x = keras.Input((4,), name="x")
        recon = keras.layers.Dense(3, activation="sigmoid", name="recon")(x)
        label = keras.layers.Dense(5, activation="softmax", name="label")(x)
        outputs = {"recon": recon, "label": label} if as_dict else [recon, label]
        model = keras.Model(x, outputs)
        model.compile(optimizer="adam", loss=loss_factory(keras))
        return model

    return build


def losses_of(path):
    model = read_model(path)
    names = [o.name for o in model.graph.outputs]
    outputs = model.config.get("config", {}).get("output_layers")
    return assign_losses(model.training, names, keyed_outputs=isinstance(outputs, dict)).by_output


ONE_OUTPUT = [
    # (id, loss as the user passed it, expected spec)
    ("string", lambda k: "binary_crossentropy", LossSpec("binary_crossentropy")),
    ("alias", lambda k: "BCE", LossSpec("binary_crossentropy")),
    ("class-name-string", lambda k: "BinaryCrossentropy", LossSpec("binary_crossentropy")),
    ("function", lambda k: k.losses.binary_crossentropy, LossSpec("binary_crossentropy")),
    (
        "object-from-logits",
        lambda k: k.losses.BinaryCrossentropy(from_logits=True),
        LossSpec("binary_crossentropy", from_logits=True),
    ),
    (
        "focal-object",
        lambda k: k.losses.BinaryFocalCrossentropy(from_logits=False),
        LossSpec("binary_focal_crossentropy", from_logits=False),
    ),
    (
        "sparse-ignore-class",
        lambda k: k.losses.SparseCategoricalCrossentropy(ignore_class=-1),
        LossSpec("sparse_categorical_crossentropy", from_logits=False, ignore_class=-1),
    ),
    ("kld-object", lambda k: k.losses.KLDivergence(), LossSpec("kl_divergence")),
    ("kld-alias", lambda k: "kld", LossSpec("kl_divergence")),
    ("hinge-object", lambda k: k.losses.Hinge(), LossSpec("hinge")),
    ("msle-alias", lambda k: "msle", LossSpec("mean_squared_logarithmic_error")),
]


@pytest.mark.parametrize(("name", "loss", "expected"), ONE_OUTPUT, ids=[c[0] for c in ONE_OUTPUT])
def test_one_loss_in_every_keras3_encoding(saved_models, name, loss, expected):
    for suffix in (".keras", ".h5"):
        path = saved_models.save(f"loss_{name}", single(loss), suffix)
        assert losses_of(path) == {"out": expected}, suffix


@pytest.mark.parametrize(
    ("name", "loss", "expected"),
    [c for c in ONE_OUTPUT if c[0] in ("string", "object-from-logits", "focal-object", "sparse-ignore-class", "hinge-object")],
    ids=["string", "object-from-logits", "focal-object", "sparse-ignore-class", "hinge-object"],
)
def test_one_loss_written_by_tf_keras(saved_models, name, loss, expected):
    for suffix in (".h5", ".keras"):
        path = saved_models.save_tf_keras(f"loss_{name}", single(loss), suffix)
        assert losses_of(path) == {"out": expected}, suffix


def test_the_report_says_where_the_loss_was_read(saved_models):
    import numpy as np

    import vaecheck

    data = np.full((4, 3), 0.5, dtype=np.float32)
    origins = {
        suffix: vaecheck.check(saved_models.save("loss_string", single(ONE_OUTPUT[0][1]), suffix), data)
        .outputs[0]
        .loss_spec.origin
        for suffix in (".keras", ".h5")
    }
    assert origins == {".keras": "compile_config", ".h5": "training_config"}


def test_per_output_list_and_dict(saved_models):
    def as_list(keras):
        return ["mse", keras.losses.CategoricalCrossentropy(from_logits=True)]

    def as_dict(keras):
        return {"recon": "mse", "label": keras.losses.KLDivergence()}

    expected_list = {
        "recon": LossSpec("mean_squared_error"),
        "label": LossSpec("categorical_crossentropy", from_logits=True),
    }
    expected_dict = {"recon": LossSpec("mean_squared_error"), "label": LossSpec("kl_divergence")}
    for suffix in (".keras", ".h5"):
        assert losses_of(saved_models.save("loss_list", two_outputs(as_list), suffix)) == expected_list
        assert losses_of(saved_models.save("loss_dict", two_outputs(as_dict, True), suffix)) == expected_dict
    assert losses_of(saved_models.save_tf_keras("loss_list", two_outputs(as_list))) == expected_list
    assert losses_of(saved_models.save_tf_keras("loss_dict", two_outputs(as_dict, True))) == expected_dict


def test_a_loss_list_pairs_with_dict_outputs_in_sorted_key_order(saved_models):
    # Keras 3.15.1 pairs ["mse", "mae"] with {"recon", "label"} as label=mse, recon=mae.
    path = saved_models.save("loss_list_dict", two_outputs(lambda k: ["mse", "mae"], True))
    assert losses_of(path) == {
        "label": LossSpec("mean_squared_error"),
        "recon": LossSpec("mean_absolute_error"),
    }


def test_an_output_without_loss_and_a_model_never_compiled(saved_models):
    path = saved_models.save("loss_list_none", two_outputs(lambda k: ["mse", None]))
    assert losses_of(path) == {"recon": LossSpec("mean_squared_error")}

    def uncompiled(keras):
        x = keras.Input((4,))
        return keras.Model(x, keras.layers.Dense(2)(x))

    for suffix in (".keras", ".h5"):
        assert losses_of(saved_models.save("loss_uncompiled", uncompiled, suffix)) == {}
    assert losses_of(saved_models.save_tf_keras("loss_uncompiled", uncompiled)) == {}


def test_a_custom_loss_is_named_but_not_known(saved_models):
    def my_loss(y_true, y_pred):
        return (y_true - y_pred) ** 2

    for suffix in (".keras", ".h5"):
        spec = losses_of(saved_models.save("loss_custom", single(lambda k: my_loss), suffix))["out"]
        assert (spec.name, spec.known) == ("my_loss", False)
        assert spec.target_domain is None and not spec.takes_logits


def test_encodings_keras_cannot_write_from_this_api():
    # A registered custom function keeps its package; a wrapper is judged by its function.
    assert loss_spec("mypkg>binary_crossentropy").known is False
    wrapper = {
        "module": "keras.src.losses.losses",
        "class_name": "LossFunctionWrapper",
        "config": {"fn": {"module": "builtins", "class_name": "function", "config": "hinge"}},
    }
    assert loss_spec(wrapper) == LossSpec("hinge")
    # A class from __main__ (module null) that borrows a built-in name is not the built-in.
    shadow = {"module": None, "class_name": "BinaryCrossentropy", "config": {}}
    assert loss_spec(shadow).known is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("binary_crossentropy", LossSpec("binary_crossentropy")),
        ("BinaryCrossentropy", LossSpec("binary_crossentropy")),
        ("bce", LossSpec("binary_crossentropy")),
        ("BCE", LossSpec("binary_crossentropy")),
        ("KLDivergence", LossSpec("kl_divergence")),
        ("binary_crossentropy:from_logits", LossSpec("binary_crossentropy", from_logits=True)),
        ("CategoricalCrossentropy:from_logits=false", LossSpec("categorical_crossentropy", from_logits=False)),
        ("scce:from_logits=true", LossSpec("sparse_categorical_crossentropy", from_logits=True)),
    ],
)
def test_loss_option_spellings(text, expected):
    spec = parse_loss_option(text)
    assert spec == expected and spec.origin == "--loss"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("binary_crossentorpy", "did you mean binary_crossentropy"),
        ("my_loss", "is not a Keras loss"),
        ("mse:from_logits", "has no from_logits option"),
        ("bce:logits", "unknown option 'logits'"),
        ("bce:from_logits=maybe", "must be true or false"),
    ],
)
def test_loss_option_refuses_what_it_cannot_use(text, problem):
    with pytest.raises(VaecheckError, match=problem):
        parse_loss_option(text)


def test_loss_as_keras_source():
    assert LossSpec("binary_crossentropy", from_logits=True).code() == (
        "keras.losses.BinaryCrossentropy(from_logits=True)"
    )
    assert LossSpec("sparse_categorical_crossentropy").code(ignore_class=-1) == (
        "keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)"
    )
    assert LossSpec("binary_crossentropy", from_logits=True).describe() == (
        "binary_crossentropy (from_logits=True)"
    )
