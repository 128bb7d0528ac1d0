"""Recurrent layers: SimpleRNN, GRU, LSTM, ConvLSTM, and the generic RNN with its cells.

The output is bounded by the cell's activation (and, for GRU and LSTM, the gate's), whatever
the input; an LSTM's cell state is a running sum, unbounded. Facts: KERAS_FACTS §5.1 (layers
that take an activation argument).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vaecheck.codomain import Codomain
from vaecheck.ranges.activations import UnknownActivation, image_of_real_line, resolve_activation
from vaecheck.ranges.layer_call import LayerCall, Outputs, Transfer, codomains_in, first_unknown
from vaecheck.ranges.piecewise import REAL_LINE, UNIT, ZERO

RECURRENT_KINDS = {
    "SimpleRNN": "SimpleRNN",
    "SimpleRNNCell": "SimpleRNN",
    "GRU": "GRU",
    "GRUCell": "GRU",
    "LSTM": "LSTM",
    "LSTMCell": "LSTM",
    "ConvLSTM1D": "LSTM",
    "ConvLSTM2D": "LSTM",
    "ConvLSTM3D": "LSTM",
}
CELL_STATE_NOTE = "an LSTM's cell state is a running sum: the activation does not bound it"


def _recurrent(call: LayerCall) -> Outputs:
    return _recurrent_cell(call, call.op, call.config, call.config)


def _rnn(call: LayerCall) -> Outputs:
    """The generic RNN layer: its cell decides the range; of a stack of cells, the last one."""
    cell = call.config.get("cell")
    stacked = isinstance(cell, Mapping) and cell.get("class_name") == "StackedRNNCells"
    if stacked:
        cells = _config_of(cell).get("cells")
        cell = cells[-1] if isinstance(cells, list) and cells else None
    if (
        not isinstance(cell, Mapping)
        or not str(cell.get("class_name")).endswith("Cell")
        or (cell.get("class_name") not in RECURRENT_KINDS)
    ):
        name = cell.get("class_name") if isinstance(cell, Mapping) else None
        return Codomain.unknown(
            call.label, f"an RNN with the cell {name}, which vaecheck does not know"
        )
    layer_config = {**call.config, "return_state": False} if stacked else call.config
    output = _recurrent_cell(call, str(cell["class_name"]), _config_of(cell), layer_config)
    if stacked and call.config.get("return_state"):
        return (output,)  # the states of stacked cells are not modelled: reading them is unknown
    return output


def _config_of(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    config = entry.get("config")
    return config if isinstance(config, Mapping) else {}


def _recurrent_cell(
    call: LayerCall, op: str, cell_config: Mapping[str, Any], layer_config: Mapping[str, Any]
) -> Outputs:
    kind = RECURRENT_KINDS[op]
    activation = resolve_activation(cell_config.get("activation", "tanh"), call.keras_major)
    if isinstance(activation, UnknownActivation):
        return Codomain.unknown(call.label, activation.reason)
    values = image_of_real_line(activation)
    notes: list[str] = []
    if kind == "SimpleRNN":
        output = values
        if call.kwargs.get("mask") is not None:
            output = output.hull(ZERO)  # masked steps output zeros
    else:
        gate_activation = resolve_activation(
            cell_config.get("recurrent_activation", "sigmoid"), call.keras_major
        )
        if isinstance(gate_activation, UnknownActivation):
            return Codomain.unknown(call.label, gate_activation.reason)
        gate = image_of_real_line(gate_activation)
        if kind == "GRU":
            # h = z * h_prev + (1 - z) * act(...) from h_0 = 0 (or the given initial state).
            output = values.hull(ZERO)
            initial = codomains_in(call.args)[1:] + codomains_in(call.kwargs.get("initial_state"))
            unknown = first_unknown(initial)
            if unknown is not None:
                return unknown
            for state in initial:
                output = output.hull(state.interval)  # type: ignore[arg-type]
            if not gate.is_subset_of(UNIT):
                output = REAL_LINE
                notes.append(
                    f"the GRU's recurrent activation {gate_activation.name} leaves [0, 1]: "
                    "its state is no longer a convex combination"
                )
        else:
            output = gate * values.hull(ZERO)  # h = o * act(c), o from the recurrent activation
    name = f"{kind}({activation.name})"
    codomain = Codomain(interval=output, bounded_by=(f"{call.label}: {name}",), notes=tuple(notes))
    if not layer_config.get("return_state"):
        return codomain
    if kind == "LSTM":
        return (codomain, codomain, Codomain(interval=REAL_LINE, notes=(CELL_STATE_NOTE,)))
    return (codomain, codomain)


TRANSFERS: dict[str, Transfer] = {
    # recurrent layers (§5.1)
    **dict.fromkeys(
        ["SimpleRNN", "GRU", "LSTM", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"], _recurrent
    ),
    "RNN": _rnn,
}
