"""Configuration: `[tool.vaecheck]` in the nearest pyproject.toml, or a file given by --config.

```toml
[tool.vaecheck]
format = "auto"               # text | json | sarif | github | auto
fail-on = "warning"           # error | warning | info
select = ["VC001", "VC003"]   # run only these checks (default: all)
ignore = ["VC004"]            # skip these
key = "x"                     # default .npz array for every pair
loss = "mse"                  # default loss for every pair

[tool.vaecheck.severity]      # the severity of a check, by code
VC002 = "error"

[[tool.vaecheck.check]]       # a pair that a bare `vaecheck` checks; paths relative to this file
model = "models/vae.keras"
data = "data/x_train.npy"
key = "x"                     # optional, overrides the default above
loss = "binary_crossentropy"  # optional
rescaling = "1/255"           # optional: the pipeline's x * scale + offset, as --rescaling

[[tool.vaecheck.check]]       # a model alone: its codomains, loss and safety checks
model = "models/generator.keras"
```

A file not named pyproject.toml (a `vaecheck.toml`, say) holds the same keys at its top level,
or under [tool.vaecheck] as pyproject.toml does. `key` at the top of the table is a default for
the pairs whose data can hold several arrays (.npz, HDF5, shards); a .npy or .csv pair ignores it.
Unknown keys are refused by name: a typo must not silently turn a check off. The command line
overrides every value here.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaecheck.errors import VaecheckError
from vaecheck.report import Severity

PYPROJECT = "pyproject.toml"
FORMATS = ("text", "json", "sarif", "github", "auto")
TOP_LEVEL_KEYS = ("format", "fail-on", "select", "ignore", "key", "loss", "severity", "check")
PAIR_KEYS = ("model", "data", "key", "loss", "rescaling")


@dataclass(frozen=True)
class Pair:
    """One MODEL/DATA pair to check, with its per-pair options."""

    model: str
    data: str | None  # None: the model is checked alone
    key: str | None = None
    loss: str | None = None
    rescaling: str | None = None  # "1/255" or "1/127.5,-1", as --rescaling takes it


@dataclass(frozen=True)
class Config:
    """The settings from one file; None means "not set here", so the built-in default applies."""

    path: str | None = None
    output_format: str | None = None
    fail_on: Severity | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    key: str | None = None
    loss: str | None = None
    severities: Mapping[str, Severity] = field(default_factory=dict)
    pairs: tuple[Pair, ...] = ()


def find_config(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest pyproject.toml with a [tool.vaecheck] table, from `start` (the cwd) upward."""
    directory = Path(start if start is not None else os.getcwd()).resolve()
    for folder in (directory, *directory.parents):
        candidate = folder / PYPROJECT
        if (
            candidate.is_file()
            and _may_name_vaecheck(candidate)
            and "vaecheck" in _read_toml(candidate).get("tool", {})
        ):
            return candidate
    return None


def _may_name_vaecheck(path: Path) -> bool:
    """Whether the file's text can hold a vaecheck table: the word, or a TOML escape that could
    spell it in a quoted key. Most projects' pyproject.toml has neither, and parsing it would
    cost the TOML parser's import on every run."""
    try:
        text = path.read_bytes()
    except OSError:
        return True  # let the reader report it
    return b"vaecheck" in text or b"\\u" in text or b"\\U" in text


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a configuration file; raises VaecheckError naming the file and the key."""
    source = Path(path)
    shown = display_path(source)
    if not source.is_file():
        raise VaecheckError("no such configuration file", shown)
    document = _read_toml(source)
    tool = document.get("tool")
    nested = isinstance(tool, dict) and "vaecheck" in tool
    if source.name == PYPROJECT or nested:
        # Any file may nest the settings as pyproject.toml does; then they all sit there.
        table = tool.get("vaecheck") if isinstance(tool, dict) else None
        if table is None:
            raise VaecheckError("has no [tool.vaecheck] table", shown)
        if source.name != PYPROJECT:
            others = [name for name in document if name != "tool"]
            if others:
                raise VaecheckError(
                    f"holds [tool.vaecheck] and also top-level keys ({', '.join(others)}): "
                    "put every setting in one of the two",
                    shown,
                )
        section = "tool.vaecheck"
    else:
        table, section = document, ""
    return parse_config(table, shown, section, source.resolve().parent)


def parse_config(table: Any, shown: str, section: str, base: Path) -> Config:
    """Validate one [tool.vaecheck] table; `base` is the folder that pair paths are relative to."""
    where = f"[{section}]" if section else "the top level"
    if not isinstance(table, dict):
        raise VaecheckError(f"{where} must be a table", shown)
    _refuse_unknown(table, TOP_LEVEL_KEYS, where, shown)

    output_format = _string(table, "format", where, shown)
    if output_format is not None and output_format not in FORMATS:
        raise VaecheckError(
            f"{where} format = {output_format!r}: choose from {', '.join(FORMATS)}", shown
        )
    fail_on = _severity(table.get("fail-on"), f"{where} fail-on", shown)
    select = _codes(table, "select", where, shown)
    ignore = _codes(table, "ignore", where, shown)

    severities: dict[str, Severity] = {}
    levels = table.get("severity", {})
    severity_section = f"[{section}.severity]" if section else "[severity]"
    if not isinstance(levels, dict):
        raise VaecheckError(f"{where} severity must be a table of code = level", shown)
    for code, level in levels.items():
        known = _known_code(code, severity_section, shown)
        parsed = _severity(level, f"{severity_section} {code}", shown)
        assert parsed is not None
        severities[known] = parsed

    entries = table.get("check", [])
    pair_section = f"[[{section}.check]]" if section else "[[check]]"
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise VaecheckError(f"{pair_section} must be an array of tables", shown)
    pairs = tuple(
        _pair(entry, f"{pair_section} #{number}", shown, base)
        for number, entry in enumerate(entries, start=1)
    )
    return Config(
        path=shown,
        output_format=output_format,
        fail_on=fail_on,
        select=select,
        ignore=ignore,
        key=_string(table, "key", where, shown),
        loss=_string(table, "loss", where, shown),
        severities=severities,
        pairs=pairs,
    )


# Data whose files can hold several arrays: where a file-level default `key` means something.
KEYED_SUFFIXES = (".npz", ".h5", ".hdf5", ".he5", ".hdf")


def default_key_for(data: str, key: str | None) -> str | None:
    """The file-level default `key` for one pair's data: None where a key means nothing (a
    .npy, a .csv, standard input, an HDF5 path that names its dataset), so a project that sets
    `key` for its .npz pairs can also list .npy pairs."""
    if key is None:
        return None
    if os.path.splitext(data)[1].lower() in KEYED_SUFFIXES:
        return key
    if os.path.isdir(data) or (not os.path.lexists(data) and any(c in data for c in "*?[")):
        return key  # shards: each .npz or HDF5 shard takes it
    return None


def display_path(path: Path) -> str:
    """A path as a user and a CI log want it: relative to the cwd, absolute only when it must be."""
    absolute = path if path.is_absolute() else Path(os.getcwd(), path)
    try:
        return os.path.relpath(os.path.normpath(absolute))
    except ValueError:  # another drive on Windows
        return str(absolute)


def _pair(entry: dict[str, Any], where: str, shown: str, base: Path) -> Pair:
    _refuse_unknown(entry, PAIR_KEYS, where, shown)
    paths: dict[str, str | None] = {}
    for name in ("model", "data"):
        value = _string(entry, name, where, shown)
        if value is None:
            if name == "data":  # a model alone is checked without data
                paths[name] = None
                continue
            raise VaecheckError(f"{where} needs '{name}'", shown)
        # An absolute path or a URL stays as written; a relative one is shown relative to the cwd.
        written = os.path.isabs(value) or "://" in value
        paths[name] = value if written else display_path(base / value)
    model = paths["model"]
    assert model is not None
    return Pair(
        model=model,
        data=paths["data"],
        key=_string(entry, "key", where, shown),
        loss=_string(entry, "loss", where, shown),
        rescaling=_string(entry, "rescaling", where, shown),
    )


def _refuse_unknown(table: Mapping[str, Any], allowed: tuple[str, ...], where: str, shown: str) -> None:
    for name in table:
        if name not in allowed:
            near = difflib.get_close_matches(name.replace("_", "-"), allowed, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else f" (known: {', '.join(allowed)})"
            raise VaecheckError(f"unknown key '{name}' in {where}{hint}", shown)


def _string(table: Mapping[str, Any], name: str, where: str, shown: str) -> str | None:
    value = table.get(name)
    if value is not None and not isinstance(value, str):
        raise VaecheckError(f"{where} {name} must be a string, not {_toml_type(value)}", shown)
    return value


def _codes(table: Mapping[str, Any], name: str, where: str, shown: str) -> tuple[str, ...] | None:
    value = table.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise VaecheckError(f"{where} {name} must be a list of check codes", shown)
    return tuple(_known_code(code, f"{where} {name}", shown) for code in value)


def _known_code(code: str, where: str, shown: str) -> str:
    """The code of a check named by code or id, in any case; an unknown name is an error."""
    from vaecheck.checks import REGISTRY, code_for

    known = code_for(code)
    if known is None:
        raise VaecheckError(
            f"{where}: unknown check code '{code}' (known: {', '.join(REGISTRY)})", shown
        )
    return known


def _severity(value: Any, where: str, shown: str) -> Severity | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise VaecheckError(f"{where} must be a string, not {_toml_type(value)}", shown)
    try:
        return Severity.parse(value)
    except ValueError as error:
        raise VaecheckError(f"{where}: {error}", shown) from None


def _toml_type(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _read_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as error:
        raise VaecheckError(f"invalid TOML: {error}", display_path(path)) from None
    except OSError as error:
        raise VaecheckError(f"cannot read: {error.strerror}", display_path(path)) from None
