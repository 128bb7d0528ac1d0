"""The command line: parse, call the core, print the report, choose the exit code.

`vaecheck` is a click group whose default path checks files: a first argument naming a
subcommand (`check`, `rules`, `explain`) runs it; anything else is `check`'s arguments, so
`vaecheck MODEL DATA` means `vaecheck check MODEL DATA`. A model file literally named like a
subcommand is given as `./rules`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import click

from vaecheck import __version__
from vaecheck.errors import VaecheckError

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from vaecheck.config import Config, Pair
    from vaecheck.probe import ProbeProgress
    from vaecheck.report import CheckRun, Severity


class ExitCode(IntEnum):
    CLEAN = 0
    FINDINGS = 1
    UNUSABLE = 2


FORMATS = ("text", "json", "sarif", "github", "auto")
LEVELS = ("error", "warning", "info")
HELP_OPTIONS = ["-h", "--help"]
CONTEXT: dict[str, Any] = {"help_option_names": HELP_OPTIONS, "max_content_width": 100}

HELP = """Check that saved Keras models' outputs can produce the values in their data.

\b
MODEL  a saved Keras model: .keras (Keras 3), legacy .h5 (Keras 2, tf.keras, Keras 3), or a
       tf.keras SavedModel directory; or an .onnx model (the 'onnx' extra). It is
       read statically: TensorFlow and onnxruntime are never imported, nothing in the file runs.
DATA   the values the output is trained against (for an autoencoder, its input):
       .npy; .npz (--key picks the array); .csv or .tsv (--columns picks columns);
       an HDF5 dataset as data.h5:/group/dataset (or --key); a directory or a
       quoted glob of such files (shards); - for a .npy on standard input;
       a folder of images (PNG, JPEG, BMP, GIF, WebP, TIFF; the 'images' extra);
       Parquet, Feather or Arrow files or datasets ('parquet'); a Zarr store as
       store.zarr:/group/array or with --key ('zarr'); TFRecord files of tf.train.Example
       with --key FEATURE ('tfrecord'). Read in blocks: any size fits in flat memory.
       MODEL and DATA may be URLs: s3://, gs://, az://, https:// (the 'cloud' extra).

MODEL alone, without DATA, is checked on its own: each output's codomain, the loss checks that
need no data, and the safety checks (VC3xx), which report what loading the file with Keras
would import, run or read. Several MODEL DATA pairs may follow one another; they are reported together under one exit
code. With none, vaecheck checks the [[tool.vaecheck.check]] pairs of the nearest
pyproject.toml (from the current folder upward) or of the --config file. Options on the
command line override the file.

With --probe, vaecheck also loads the model with Keras (safe mode on) in a child process and
runs it on a sample of DATA (an autoencoder) or on latent draws from N(0, I) (a decoder), and
sets the range each output really produced beside its codomain. That needs TensorFlow
(the 'tensorflow' extra: pip install -e '.[tensorflow]' in a clone of vaecheck). A TensorFlow
SavedModel directory without Keras metadata
(Keras 3 model.export()) can only be probed, with --unsafe. An .onnx model is probed with
onnxruntime.

\b
Examples:
  vaecheck vae.keras x_train.npy
  vaecheck generator.h5 images.npz --key x --format json
  vaecheck a.keras a.npy b.keras b.npy --fail-on warning
  vaecheck --format sarif --output vaecheck.sarif
  vaecheck rules
  vaecheck explain VC001
  vaecheck vae.keras x_train.npy --probe --custom-objects layers.py
  vaecheck vae.keras 'shards/*.npy' --sample 100000
  vaecheck generator.keras images/ --rescaling 1/127.5,-1
  vaecheck s3://models/vae.keras s3://data/x_train.npy --sample 10000
  python make_data.py | vaecheck vae.keras -

\b
Exit codes:
  0  no finding at or above the fail level (default: error)
  1  findings at or above the fail level
  2  unusable input or usage: one line on stderr names the file and the problem
"""

COMMANDS_EPILOG = """A first argument naming a command runs it; anything else is checked as MODEL DATA, so a
model file literally named `rules` is given as ./rules."""


def _use_color(choice: bool | None) -> bool:
    if choice is not None:
        return choice
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def _split_codes(values: Iterable[str]) -> tuple[str, ...] | None:
    """`--select VC001,VC002 --select nonfinite-data` -> the names given; None when absent.
    Each is a code or an id, in any case, as `vaecheck explain` takes them."""
    codes = tuple(c.strip() for value in values for c in value.split(",") if c.strip())
    return codes or None


def _codes_option(name: str, help_text: str) -> Any:
    return click.option(name, metavar="CODES", multiple=True, help=help_text)


@click.command("check", help=HELP, context_settings=CONTEXT, short_help="Check MODEL DATA pairs (the default command).")
# readable=False: an unreadable file is the readers' one-line error, not a usage message.
@click.argument("paths", nargs=-1, metavar="[MODEL DATA]...", type=click.Path(readable=False))
@click.option("--key", metavar="NAME", help="The array of an .npz file or a Zarr store, the dataset of an HDF5 file, or the feature of TFRecord examples.")
@click.option(
    "--columns",
    metavar="COLS",
    help="Columns of a .csv/.tsv or a Parquet/Arrow table, by name or index from 0: 'x,y', '0,3' or '1:' (all but the first).",
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    metavar="N",
    help="Check a uniform random sample of N rows, reading only those where the format allows.",
)
@click.option("--seed", type=int, metavar="S", help="Seed of the random sample (default 0: the same rows each run).")
@click.option(
    "--rescaling",
    metavar="SCALE[,OFFSET]",
    help="The map the training pipeline applies to the data, x * SCALE + OFFSET, as "
    "keras.layers.Rescaling: e.g. 1/255 or 1/127.5,-1. The data is checked as the loss sees it.",
)
@click.option(
    "--color-mode",
    type=click.Choice(["grayscale", "rgb", "rgba"]),
    help="How images are decoded (Keras's names).  [default: the channels of the model's output]",
)
@click.option(
    "--skip-bad",
    is_flag=True,
    help="Leave out images that cannot be decoded, and count them in the report, instead of exit 2.",
)
@click.option(
    "--follow-links",
    is_flag=True,
    help="Read what symbolic links out of the current folder point to (refused by default: a "
    "link in a pull request can point at any file on the machine; links inside it are read).",
)
@click.option(
    "--per-feature",
    is_flag=True,
    help="Rescale feature by feature (the last axis) even when the features' ranges are alike.",
)
@click.option(
    "--save-rescale",
    metavar="FILE",
    help="Save the fix's scale, offset and inverses to FILE (.npz or .json) for reuse.",
)
@click.option(
    "--loss",
    metavar="NAME",
    help=(
        "The loss the outputs are trained with, when the file holds none (it replaces a saved "
        "one): any Keras spelling (binary_crossentropy, BinaryCrossentropy, bce), with "
        "':from_logits' for a loss on logits, e.g. --loss BinaryCrossentropy:from_logits."
    ),
)
@click.option(
    "-f",
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default=None,
    help="text for people; json (a stable, versioned schema) and sarif for machines; github "
    "for Actions annotations; auto = github under GitHub Actions, else text.  [default: text]",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the report to FILE instead of stdout.",
)
@click.option(
    "--fail-on",
    type=click.Choice(LEVELS),
    default=None,
    help="The lowest severity that makes the exit code 1.  [default: error]",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even with findings (2 still means unusable input).")
@_codes_option("--select", "Run only these checks, by code (comma-separated, repeatable).")
@_codes_option("--ignore", "Skip these checks, by code (comma-separated, repeatable).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Read settings and pairs from FILE instead of the nearest pyproject.toml.",
)
@click.option(
    "--color/--no-color",
    default=None,
    help="Force colour on or off (default: on for a terminal; NO_COLOR turns it off, FORCE_COLOR on).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print findings only: one line each, nothing when clean; no progress.")
@click.option(
    "--probe",
    is_flag=True,
    help="Also run the model with Keras (safe mode on) and report the range each output produced.",
)
@click.option(
    "--probe-samples",
    type=click.IntRange(min=1),
    metavar="N",
    help="Data samples to run, or latent draws per scale (x1, x3, x10).  [default: 1024]",
)
@click.option(
    "--probe-timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop the probe after this long: importing Keras, loading and running.  [default: 120]",
)
@click.option(
    "--custom-objects",
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE.py",
    help="A Python file defining the model's custom layers and activations; it is imported "
    "(runs) in the probe process, so pass only a file you trust.",
)
@click.option(
    "--unsafe",
    is_flag=True,
    help="Load with safe mode off: Lambda bytecode and a SavedModel's graph run. Only for "
    "files you trust.",
)
@click.option(
    "--dask",
    "dask_scheduler",
    metavar="ADDRESS",
    help="Measure the data on a Dask cluster: a scheduler (tcp://host:8786), or local:N to start "
    "N worker processes for this run. Workers read the data, so paths must be reachable from them.",
)
@click.option(
    "--dask-timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Give up reaching the Dask scheduler after this long.  [default: 10]",
)
@click.version_option(__version__, "--version", prog_name="vaecheck")
def check_command(
    paths: tuple[str, ...],
    key: str | None,
    columns: str | None,
    sample: int | None,
    seed: int | None,
    rescaling: str | None,
    color_mode: str | None,
    skip_bad: bool,
    follow_links: bool,
    per_feature: bool,
    save_rescale: str | None,
    loss: str | None,
    output_format: str | None,
    output: str | None,
    fail_on: str | None,
    exit_zero: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_path: str | None,
    color: bool | None,
    quiet: bool,
    probe: bool,
    probe_samples: int | None,
    probe_timeout: float | None,
    custom_objects: str | None,
    unsafe: bool,
    dask_scheduler: str | None,
    dask_timeout: float | None,
) -> int:
    from vaecheck.config import Pair, default_key_for
    from vaecheck.formats import OutputFormat, render
    from vaecheck.report import Severity

    config = _load_config(config_path)
    if len(paths) == 1:  # a model alone: codomains, the loss checks needing no data, safety
        pairs: tuple[Pair, ...] = (Pair(paths[0], None),)
    elif len(paths) % 2:
        given = f"{len(paths)} path{'s' if len(paths) != 1 else ''} given"
        raise click.UsageError(f"MODEL and DATA come in pairs: '{paths[-1]}' has no DATA ({given})")
    elif paths:
        pairs = tuple(Pair(model, data) for model, data in zip(paths[::2], paths[1::2]))
    else:
        pairs = config.pairs
    if not pairs:
        raise click.UsageError(_nothing_to_check(config))
    pairs = tuple(
        Pair(
            pair.model,
            pair.data,
            key=key or pair.key or default_key_for(pair.data, config.key),
            loss=loss or pair.loss or config.loss,
            rescaling=rescaling or pair.rescaling,
        )
        for pair in pairs
    )

    if save_rescale is not None:
        if len(pairs) != 1:
            raise click.UsageError(
                f"--save-rescale saves the fix of one MODEL DATA pair; {len(pairs)} are given"
            )
        if pairs[0].data is None:
            raise click.UsageError("--save-rescale saves a fix computed from DATA: give MODEL DATA")
        from vaecheck.rescale_file import check_destination

        check_destination(save_rescale)
    data_options = {
        "columns": columns,
        "sample": sample,
        "seed": seed,
        "per_feature": True if per_feature else None,
        "follow_links": follow_links,
        "color_mode": color_mode,
        "skip_bad": skip_bad,
        # Only the text report draws the data's histogram; the others need no sample of values.
        "histogram": OutputFormat(output_format or config.output_format or "text").resolve()
        is OutputFormat.TEXT,
    }

    image_data = _image_data(pairs, color_mode, skip_bad)
    enabled = _enabled_checks(config, _split_codes(select), _split_codes(ignore))
    _warn_unselected_severities(config, enabled)
    progress = not quiet and len(pairs) > 1 and sys.stderr.isatty()
    probe_options = _probe_options(probe, probe_samples, probe_timeout, custom_objects, unsafe)
    display = probe_options.progress if probe_options is not None else None
    try:
        with _dask_cluster(dask_scheduler, dask_timeout, quiet) as dask:
            if dask is not None:
                data_options["dask"] = dask
            run = _check_pairs(
                pairs, config, enabled, progress, probe_options, data_options, image_data
            )
    finally:
        if isinstance(display, _ProbeProgressBar):
            display.close()

    if save_rescale is not None and run.reports:
        from dataclasses import replace

        from vaecheck.report import CheckRun
        from vaecheck.rescale_file import save_rescale as save

        save(run.reports[0], save_rescale)
        run = CheckRun((replace(run.reports[0], saved_rescale=save_rescale),), run.unusable)

    chosen = OutputFormat(output_format or config.output_format or "text")
    # A pair that could not be checked still gets a report for machines and for --output: a CI
    # step that uploads the file must find it, with the error in it. At a terminal the error
    # line on stderr is the whole story of a single pair.
    machine = chosen.resolve() is not OutputFormat.TEXT or output is not None
    if run.reports or (run.unusable and (machine or not run.single)):
        # A report file is for tools and later reading: colour only when asked for by flag.
        use_color = _use_color(color) if output is None else bool(color)
        # A pipe or a CI log gets long lines rather than wrapped ones; a terminal gets its width.
        interactive = output is None and sys.stdout.isatty()
        width = min(shutil.get_terminal_size((100, 24)).columns, 120) if interactive else 200
        text = render(run, chosen, color=use_color, width=width, quiet=quiet)
        if output is None:
            click.echo(text, nl=False, color=use_color)
        else:
            _write(output, text)

    level = Severity.parse(fail_on) if fail_on else (config.fail_on or Severity.ERROR)
    return _exit_code(run, level, exit_zero)


@contextlib.contextmanager
def _dask_cluster(scheduler: str | None, timeout: float | None, quiet: bool) -> Iterator[Any]:
    """One client for every pair of the run; a local cluster is started once and closed after."""
    if scheduler is None:
        if timeout is not None:
            raise click.UsageError("--dask-timeout needs --dask ADDRESS")
        yield None
        return
    from vaecheck.cluster import DEFAULT_TIMEOUT, DaskOptions, dask_client

    options = DaskOptions(scheduler, timeout or DEFAULT_TIMEOUT)
    with dask_client(options) as client:
        yield DaskOptions(client, options.timeout, progress=not quiet and sys.stderr.isatty())


def _exit_code(run: CheckRun, fail_on: Severity, exit_zero: bool) -> ExitCode:
    if run.unusable:
        return ExitCode.UNUSABLE
    if exit_zero or not run.fails(fail_on):
        return ExitCode.CLEAN
    return ExitCode.FINDINGS


def _check_pairs(
    pairs: tuple[Pair, ...],
    config: Config,
    enabled: frozenset[str],
    progress: bool,
    probe: Any = None,
    data_options: Mapping[str, Any] | None = None,
    image_data: frozenset[str] = frozenset(),
) -> CheckRun:
    """Check every pair; an unusable one is reported on stderr and the others still run.
    --color-mode and --skip-bad go to the pairs whose DATA is in `image_data`."""
    from vaecheck.api import check
    from vaecheck.report import CheckRun, UnusablePair

    reports = []
    unusable = []
    for pair in pairs:
        if progress:
            click.echo(f"vaecheck: checking {pair.model} × {pair.data or 'no data'}", err=True)
        options = dict(data_options or {})
        if pair.data not in image_data:
            options.update(color_mode=None, skip_bad=False)
        try:
            reports.append(
                check(
                    pair.model,
                    pair.data,
                    key=pair.key,
                    loss=pair.loss,
                    severities=config.severities,
                    select=enabled,
                    probe=probe,
                    rescaling=pair.rescaling,
                    **options,
                )
            )
        except VaecheckError as error:
            click.echo(f"vaecheck: error: {error}", err=True)
            unusable.append(UnusablePair(pair.model, pair.data, str(error), error.path))
    return CheckRun(tuple(reports), tuple(unusable))


def _image_data(pairs: tuple[Pair, ...], color_mode: str | None, skip_bad: bool) -> frozenset[str]:
    """The DATA of the run that are images, which --color-mode and --skip-bad decode. Naming
    either when no DATA is images is an error: it would change nothing, silently."""
    if color_mode is None and not skip_bad:
        return frozenset()
    from vaecheck.readers.images import is_image_location

    data = [pair.data for pair in pairs if pair.data is not None]
    images = frozenset(path for path in data if is_image_location(path))
    if images:
        return images
    given = [name for name, used in (("--color-mode", color_mode is not None), ("--skip-bad", skip_bad)) if used]
    verb = "apply" if len(given) > 1 else "applies"
    if not data:
        what = "a model checked alone (no DATA)"
    elif len(data) == 1:
        what = f"'{data[0]}'"
    else:
        what = f"any of the {len(data)} DATA given"
    raise VaecheckError(
        f"{' and '.join(given)} {verb} to images (an image file, or a folder of them), not to {what}"
    )


def _enabled_checks(
    config: Config, select: tuple[str, ...] | None, ignore: tuple[str, ...] | None
) -> frozenset[str]:
    """The file's selection, then the command line's: --select starts over, --ignore removes more."""
    from vaecheck.checks import REGISTRY, enabled_codes, unknown_codes

    unknown = unknown_codes([*(select or ()), *(ignore or ())])
    if unknown:
        raise click.BadParameter(
            f"unknown check code {', '.join(repr(c) for c in unknown)} (known: {', '.join(REGISTRY)}, "
            "or their ids as `vaecheck rules` lists them)",
            param_hint="'--select' / '--ignore'",
        )
    if select is not None:
        return enabled_codes(select, ignore)
    return enabled_codes(config.select, config.ignore) - enabled_codes(ignore or (), None)


def _warn_unselected_severities(config: Config, enabled: frozenset[str]) -> None:
    """A severity set for a check that does not run changes nothing: say so, not silently."""
    unused = [code for code in config.severities if code not in enabled]
    if unused:
        codes = ", ".join(unused)
        click.echo(
            f"vaecheck: warning: {config.path}: a severity is set for {codes}, which "
            "select/ignore leave out, so it has no effect",
            err=True,
        )


def _load_config(path: str | None) -> Config:
    from vaecheck.config import Config, find_config, load_config

    if path is not None:
        return load_config(path)
    found = find_config()
    return load_config(found) if found is not None else Config()


def _nothing_to_check(config: Config) -> str:
    where = (
        f"{config.path} lists no [[tool.vaecheck.check]] pairs"
        if config.path
        else "no pyproject.toml with [tool.vaecheck] was found from here upward"
    )
    return (
        "nothing to check: pass MODEL DATA (e.g. `vaecheck model.keras data.npy`), "
        f"or list pairs as [[tool.vaecheck.check]] in pyproject.toml ({where})"
    )


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as error:
        raise VaecheckError(f"cannot write the report: {error.strerror}", path) from None


def _probe_options(
    probe: bool,
    samples: int | None,
    timeout: float | None,
    custom_objects: str | None,
    unsafe: bool,
) -> Any:
    given = [
        name
        for name, value in (
            ("--probe-samples", samples),
            ("--probe-timeout", timeout),
            ("--custom-objects", custom_objects),
            ("--unsafe", unsafe or None),
        )
        if value is not None
    ]
    if not probe:
        if given:
            verb = "apply" if len(given) > 1 else "applies"
            raise click.UsageError(f"{', '.join(given)} {verb} only with --probe")
        return None
    from vaecheck.probe import DEFAULT_SAMPLES, DEFAULT_TIMEOUT, ProbeOptions

    if unsafe:
        click.echo(
            "vaecheck: warning: --unsafe: safe mode is off; code stored in the model (Lambda "
            "bytecode, a SavedModel's graph) will run in the probe process",
            err=True,
        )
    return ProbeOptions(
        samples=samples if samples is not None else DEFAULT_SAMPLES,
        timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
        safe_mode=not unsafe,
        custom_objects=custom_objects,
        progress=_ProbeProgressBar() if sys.stderr.isatty() else None,
    )


class _ProbeProgressBar:
    """A transient progress bar on stderr, shown once a probe has taken more than a moment."""

    DELAY_SECONDS = 1.0
    STAGES = {
        "starting": "probe: importing Keras",
        "loading": "probe: loading the model",
        "running": "probe: running the model",
    }

    def __init__(self) -> None:
        self._progress: Any = None
        self._task: Any = None

    def __call__(self, state: ProbeProgress) -> None:
        if self._progress is None:
            if state.elapsed < self.DELAY_SECONDS:
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.STAGES["starting"], total=None)
        self._progress.update(
            self._task,
            description=self.STAGES.get(state.stage, state.stage),
            completed=state.done,
            total=state.total or None,
        )

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


@click.command("rules", context_settings=CONTEXT)
@click.option("-f", "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules_command(output_format: str) -> int:
    """List every check with its code and default severity."""
    import json

    from vaecheck.checks import REGISTRY

    if output_format == "json":
        rules = [
            {"code": code, "id": m.ID, "severity": m.SEVERITY.label, "summary": m.SUMMARY}
            for code, m in REGISTRY.items()
        ]
        click.echo(json.dumps(rules, indent=2))
        return ExitCode.CLEAN
    id_width = max(len(m.ID) for m in REGISTRY.values())
    for code, module in REGISTRY.items():
        click.echo(f"{code}  {module.SEVERITY.label:<7}  {module.ID:<{id_width}}  {module.SUMMARY}")
    return ExitCode.CLEAN


@click.command("explain", context_settings=CONTEXT)
@click.argument("code", metavar="CODE")
def explain_command(code: str) -> int:
    """Print the documentation of one check, by code or id."""
    from vaecheck.checks import REGISTRY, code_for, rule_doc

    known = code_for(code)
    if known is not None:
        module = REGISTRY[known]
        click.echo(f"{known} {module.ID} (default severity: {module.SEVERITY.label})\n")
        click.echo(rule_doc(module))
        return ExitCode.CLEAN
    raise click.BadParameter(
        f"unknown check '{code}' (known: {', '.join(REGISTRY)}; `vaecheck rules` lists them)",
        param_hint="'CODE'",
    )


class CheckByDefault(click.Group):
    """A group whose default path is `check`: only a first argument naming a command leaves it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        names_a_command = bool(args) and (args[0] in self.commands or args[0] in HELP_OPTIONS)
        # While the shell completes the first word, offer commands as well as files.
        completing_first_word = not args and ctx.resilient_parsing
        if not names_a_command and not completing_first_word:
            args = ["check", *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # `vaecheck --help` is mostly about checking files: show check's help, then the commands.
        check = self.commands["check"]
        check_ctx = click.Context(check, info_name=ctx.info_name, **CONTEXT)
        check.format_help(check_ctx, formatter)
        self.format_commands(ctx, formatter)
        formatter.write_paragraph()
        formatter.write_text(COMMANDS_EPILOG)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return ["check", "rules", "explain"]

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        if incomplete.startswith("-"):
            return self.commands["check"].shell_complete(ctx, incomplete)
        return [*super().shell_complete(ctx, incomplete), CompletionItem(incomplete, type="file")]


command = CheckByDefault(
    "vaecheck",
    commands=[check_command, rules_command, explain_command],
    context_settings=CONTEXT,
)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; only `run` exits the process."""
    try:
        result = command.main(args=argv, prog_name="vaecheck", standalone_mode=False)
    except VaecheckError as error:
        click.echo(f"vaecheck: error: {error}", err=True)
        return ExitCode.UNUSABLE
    except click.exceptions.Exit as done:  # --help, --version
        return int(done.exit_code)
    except click.ClickException as error:
        error.show()
        return ExitCode.UNUSABLE
    except click.exceptions.Abort:
        click.echo("vaecheck: aborted", err=True)
        return ExitCode.UNUSABLE
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug in vaecheck: one line, not a traceback
        if os.environ.get("VAECHECK_DEBUG"):
            raise
        click.echo(
            f"vaecheck: internal error: {type(error).__name__}: {error} "
            "(set VAECHECK_DEBUG=1 for the traceback)",
            err=True,
        )
        return ExitCode.UNUSABLE
    return int(result) if isinstance(result, int) else ExitCode.CLEAN


def run() -> None:
    code = main()
    # Freeing every object of numpy, click and rich on the way out costs a typical run a tenth
    # of its time, and nothing is left to clean up: files are closed, threads and child
    # processes finished. Flush the streams and leave (mypy ends the same way).
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe or stream: exit as Python would
        sys.exit(code)
    os._exit(code)
