"""The command line: parse, call the core, print the report, choose the exit code."""

from __future__ import annotations

import os
import shutil
import sys
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import click

from vaecheck import __version__
from vaecheck.errors import VaecheckError

if TYPE_CHECKING:
    from vaecheck.probe import ProbeProgress


class ExitCode(IntEnum):
    CLEAN = 0
    FINDINGS = 1
    UNUSABLE = 2


HELP = """Check that a saved Keras model's output can produce the values in DATA.

\b
MODEL  a saved Keras model: .keras (Keras 3) or legacy .h5 (Keras 2, tf.keras, Keras 3).
       It is read statically: TensorFlow is never imported, nothing in the file runs.
DATA   a data sample: .npy, or .npz (with --key, unless it holds one array).
       The values the output is trained against: for an autoencoder, its input.

vaecheck finds what bounds each output (the last activation and every layer after it that
moves the range), computes that codomain, compares it with the data, and prints what is
wrong, how much of the data is out of reach, and the fix with its numbers.

With --probe, vaecheck also loads the model with Keras (safe mode on) in a child process and
runs it on a sample of DATA (an autoencoder) or on latent draws from N(0, I) (a decoder), and
sets the range each output really produced beside its codomain. That needs TensorFlow
(pip install 'vaecheck[tensorflow]'). A TensorFlow SavedModel directory without Keras metadata
(Keras 3 model.export()) can only be probed, with --unsafe.

\b
Examples:
  vaecheck vae.keras x_train.npy
  vaecheck generator.h5 images.npz --key x --format json
  vaecheck model.keras targets.npy --fail-on warning
  vaecheck vae.keras x_train.npy --probe --custom-objects layers.py

\b
Exit codes:
  0  no finding at or above the fail level (default: error)
  1  findings at or above the fail level
  2  unusable input or usage: one line on stderr names the file and the problem
"""


def _use_color(choice: bool | None) -> bool:
    if choice is not None:
        return choice
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


@click.command(help=HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("model", metavar="MODEL")
@click.argument("data", metavar="DATA")
@click.option("--key", metavar="NAME", help="The array to read from an .npz file.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people; json for machines (a stable, versioned schema).",
)
@click.option(
    "--loss",
    metavar="NAME",
    help="The loss the output is trained with, when the file holds none (e.g. binary_crossentropy).",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info"]),
    default="error",
    show_default=True,
    help="The lowest severity that makes the exit code 1.",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even with findings (2 still means unusable input).")
@click.option("--color/--no-color", default=None, help="Force colour on or off (default: on for a terminal, off with NO_COLOR).")
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
@click.version_option(__version__, "--version", prog_name="vaecheck")
def command(
    model: str,
    data: str,
    key: str | None,
    output_format: str,
    loss: str | None,
    fail_on: str,
    exit_zero: bool,
    color: bool | None,
    probe: bool,
    probe_samples: int | None,
    probe_timeout: float | None,
    custom_objects: str | None,
    unsafe: bool,
) -> int:
    from vaecheck.api import check
    from vaecheck.formats import OutputFormat, render
    from vaecheck.report import Severity

    probe_options = _probe_options(probe, probe_samples, probe_timeout, custom_objects, unsafe)
    display = probe_options.progress if probe_options is not None else None
    try:
        report = check(model, data, key=key, loss=loss, probe=probe_options)
    finally:
        if isinstance(display, _ProbeProgressBar):
            display.close()
    # A pipe or a CI log gets long lines rather than wrapped ones; a terminal gets its width.
    width = min(shutil.get_terminal_size((100, 24)).columns, 120) if sys.stdout.isatty() else 200
    use_color = _use_color(color)
    text = render(report, OutputFormat(output_format), color=use_color, width=width)
    click.echo(text, nl=False, color=use_color)
    if exit_zero or not report.fails(Severity.parse(fail_on)):
        return ExitCode.CLEAN
    return ExitCode.FINDINGS


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
    sys.exit(main())
