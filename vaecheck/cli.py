"""The command line: parse, call the core, print the report, choose the exit code."""

from __future__ import annotations

import os
import shutil
import sys
from enum import IntEnum

import click

from vaecheck import __version__
from vaecheck.errors import VaecheckError


class ExitCode(IntEnum):
    CLEAN = 0
    FINDINGS = 1
    UNUSABLE = 2


HELP = """Check that a saved Keras model's output can produce the values in DATA.

\b
MODEL  a saved Keras model: .keras (Keras 3), legacy .h5 (Keras 2, tf.keras, Keras 3), or a
       tf.keras SavedModel directory. It is read statically: TensorFlow is never imported,
       nothing in the file runs.
DATA   a data sample: .npy, or .npz (with --key, unless it holds one array).
       The values the output is trained against: for an autoencoder, its input.

vaecheck finds what bounds each output (the last activation and every layer after it that
moves the range), computes that codomain, compares it with the data, and prints what is
wrong, how much of the data is out of reach, and the fix with its numbers.

\b
Examples:
  vaecheck vae.keras x_train.npy
  vaecheck generator.h5 images.npz --key x --format json
  vaecheck model.keras targets.npy --fail-on warning

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
) -> int:
    from vaecheck.api import check
    from vaecheck.formats import OutputFormat, render
    from vaecheck.report import Severity

    report = check(model, data, key=key, loss=loss)
    # A pipe or a CI log gets long lines rather than wrapped ones; a terminal gets its width.
    width = min(shutil.get_terminal_size((100, 24)).columns, 120) if sys.stdout.isatty() else 200
    use_color = _use_color(color)
    text = render(report, OutputFormat(output_format), color=use_color, width=width)
    click.echo(text, nl=False, color=use_color)
    if exit_zero or not report.fails(Severity.parse(fail_on)):
        return ExitCode.CLEAN
    return ExitCode.FINDINGS


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
