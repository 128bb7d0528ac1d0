"""`python -m vaecheck`: the same as the `vaecheck` command."""

from vaecheck.cli import run

if __name__ == "__main__":
    run()
