"""Run vaecheck on every corpus case under resource limits, and measure each run.

One fresh interpreter (the server) imports vaecheck and everything it may import, once; each
case then runs in a child forked from it, under its own limits:

- CPU: the promise is 2 s per run, imports included, which the test asserts on the measured
  figure. The child is killed only at three times that (an ITIMER_PROF timer, with RLIMIT_CPU
  as a backstop): a run over the promise on a slow machine, or under coverage, which makes the
  slowest case about 2.4 times as costly, then fails with its CPU time rather than as killed.
- memory: the child's peak resident set is measured (ru_maxrss from wait4). A forked child
  counts the private pages it shares with the server but not the library pages it does not
  touch again, so the difference (the server's resident set less that of a child that exits at
  once) is added: the figure is what a run from a shell costs, imports included, or a little
  more. RLIMIT_AS, the server's address space plus 1 GiB, is a hard backstop that makes a
  runaway allocation fail early.
- wall clock: a child still running after 30 s is killed; this is what catches a read that
  blocks (a FIFO) without using CPU. It is generous because a loaded machine shares its cores:
  at a load of 10 on 2 cores, a case that costs 0.9 s of CPU took 5.7 s. The budget itself is
  CPU time, which other work on a shared machine does not inflate; wall-clock times are
  measured and reported.

An audit hook (sys.addaudithook, PEP 578) in each child records what the run did that matters
here: files opened, modules imported, and any unmarshalling, unpickling, compiling or running of
code or processes. The test checks that log against the case's own folder.

Forking from one server makes the corpus cost one import instead of one per case (about 0.5 s
each), while every case still runs in a process of its own whose peak is its own. Two children
run at a time.

    python tests/corpus/runner.py [--workers N] [--keep DIR]   # build, run, print a table
"""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BUDGET_SECONDS = 2.0  # CPU per run, imports included: the promise the test asserts
KILL_SECONDS = 3 * BUDGET_SECONDS  # CPU at which the runner kills a run
WALL_BACKSTOP_SECONDS = 30.0  # a blocked read, not a slow run on a busy machine
BUDGET_RSS_MB = 200.0
ADDRESS_SPACE_HEADROOM = 2**30
CAPTURED_BYTES = 2**20  # of each stream kept for the checks; more is itself a failure
UNPRIVILEGED = 65534  # nobody
CANARY = "canary-ran"  # make_corpus.CANARY: the file name every payload would create


@dataclass(frozen=True)
class Outcome:
    name: str
    blame: str  # the file the one-line message must name
    exit: int | None  # None when the child was killed
    killed_by: str | None  # "cpu", "wall" or a signal name
    stdout: str
    stderr: str
    stdout_bytes: int
    stderr_bytes: int
    wall_seconds: float  # the case alone; the imports are `import_seconds` of the server
    cpu_seconds: float
    peak_rss_mb: float  # the whole child: imports included
    canaries_present: tuple[str, ...]
    import_seconds: float
    import_cpu_seconds: float
    audit: tuple[tuple[str, str], ...]  # (event, first argument) as the run raised them
    folder: str  # the case's own folder: every file it is given lies there

    @property
    def seconds(self) -> float:
        """What a run from a shell takes: the imports, then the case (wall clock)."""
        return self.import_seconds + self.wall_seconds

    @property
    def cpu_total(self) -> float:
        """The CPU time a run from a shell costs: the imports, then the case."""
        return self.import_cpu_seconds + self.cpu_seconds


# --- the server: a fresh interpreter that forks one child per case -------------------------------


def _import_everything() -> None:
    """Import every vaecheck module and what they import lazily, as a run could."""
    import importlib
    import pkgutil

    import vaecheck

    for module in pkgutil.walk_packages(vaecheck.__path__, "vaecheck."):
        importlib.import_module(module.name)
    # Standard modules a run imports on first use: a case run as an unprivileged user may not
    # be able to read the interpreter's library (under root's home, say).
    for name in ("encodings.cp437", "encodings.utf_8_sig", "encodings.latin_1", "encodings.idna",
                 "lzma", "bz2", "csv", "ast", "difflib", "unicodedata", "tomllib"):
        try:
            importlib.import_module(name)
        except ImportError:  # tomllib before Python 3.11
            pass
    import h5py  # noqa: F401
    import rich.console  # noqa: F401
    import rich.table  # noqa: F401
    import rich.text  # noqa: F401


def _status(field: str) -> int:
    """A size from /proc/self/status, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _unshared_rss_mb() -> float:
    """The server's resident memory that a forked child does not count until it touches it."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    _, _, usage = os.wait4(pid, 0)
    return max(_status("VmRSS") / 2**20 - usage.ru_maxrss / 1024, 0.0)


# Audit events worth recording. Reading a module's .pyc unmarshals it, a dataclass executes its
# generated __init__: that is the library at work, so code events are kept only when they carry
# a payload's canary file name (Lambda bytecode holds it among its constants).
CODE_EVENTS = ("marshal.load", "marshal.loads", "exec")
RUN_EVENTS = (
    "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "pickle.find_class", "ctypes.dlopen", "socket.connect", "urllib.Request",
    "shutil.unpack_archive",
)


def _texts(value: Any, depth: int = 0) -> list[str]:
    """The text in an event's arguments, constants of code objects included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (bytes, bytearray)):
        return [bytes(value).decode("latin1")]
    if depth < 8 and isinstance(value, (tuple, list)):
        return [text for item in value for text in _texts(item, depth + 1)]
    if depth < 8 and hasattr(value, "co_consts"):
        return _texts(value.co_consts, depth + 1)
    return []


def _audit(log: list[tuple[str, str]], canary: str) -> Any:
    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and args and isinstance(args[0], (str, bytes)):
            log.append((event, os.fsdecode(args[0])))
        elif event == "import" and args:
            log.append((event, str(args[0])))
        elif event in CODE_EVENTS:
            if any(canary in text for text in _texts(args)):
                log.append((event, "a payload's code"))
        elif event in RUN_EVENTS:
            log.append((event, repr(args)[:200]))

    return hook


def _run_case(plan: dict[str, Any], cpu_budget: float, address_space: int) -> None:
    """In the forked child: limits, streams, privileges; then vaecheck's main. Never returns."""
    code = 99
    log: list[tuple[str, str]] = []
    try:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        hard_cpu = math.ceil(cpu_budget + time.process_time()) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (hard_cpu, hard_cpu))
        signal.setitimer(signal.ITIMER_PROF, cpu_budget)
        os.chdir(plan["cwd"])
        stdin = os.open(plan["stdin"] or os.devnull, os.O_RDONLY)
        os.dup2(stdin, 0)
        os.dup2(os.open(plan["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
        os.dup2(os.open(plan["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
        if plan["importable"]:
            sys.path.insert(0, plan["importable"])
        if plan["unprivileged"] and os.geteuid() == 0:
            os.setgroups([])
            os.setgid(UNPRIVILEGED)
            os.setuid(UNPRIVILEGED)
        from vaecheck.cli import main

        sys.addaudithook(_audit(log, CANARY))
        code = main(list(plan["argv"]))
    except BaseException as error:  # the runner's own failure, told apart from vaecheck's
        os.write(2, f"corpus runner: {type(error).__name__}: {error}\n".encode())
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            recorded = json.dumps(log).encode()  # before the open below adds itself
            fd = os.open(plan["audit"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(fd, recorded)
            os.close(fd)
        finally:
            os._exit(code)


def serve(plan_path: str, workers: int) -> int:
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    _import_everything()
    import_seconds = time.perf_counter() - started_wall
    import_cpu = time.process_time() - started_cpu
    # The interpreter's own start is not in the figures above; a tenth of a second covers it.
    startup = 0.1
    cpu_budget = KILL_SECONDS - import_cpu - startup
    wall_budget = WALL_BACKSTOP_SECONDS
    address_space = _status("VmSize") + ADDRESS_SPACE_HEADROOM
    unshared_mb = _unshared_rss_mb()
    plans = json.loads(Path(plan_path).read_text())
    pending = list(plans)
    running: dict[int, tuple[dict[str, Any], float]] = {}
    results = []
    sys.stdout.flush()
    sys.stderr.flush()
    while pending or running:
        while pending and len(running) < workers:
            plan = pending.pop(0)
            pid = os.fork()
            if pid == 0:
                _run_case(plan, cpu_budget, address_space)
            running[pid] = (plan, time.perf_counter())
        time.sleep(0.005)
        for pid, (plan, start) in list(running.items()):
            done, status, usage = os.wait4(pid, os.WNOHANG)
            elapsed = time.perf_counter() - start
            killed = None
            if done == 0:
                if elapsed <= wall_budget:
                    continue
                os.kill(pid, signal.SIGKILL)
                done, status, usage = os.wait4(pid, 0)
                killed = "wall"
            del running[pid]
            exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
            if killed is None and os.WIFSIGNALED(status):
                number = os.WTERMSIG(status)
                killed = "cpu" if number in (signal.SIGPROF, signal.SIGXCPU) else signal.Signals(number).name
            results.append(
                {
                    "name": plan["name"],
                    "exit": exit_code,
                    "killed_by": killed,
                    "wall_seconds": elapsed,
                    "cpu_seconds": usage.ru_utime + usage.ru_stime,
                    "peak_rss_mb": usage.ru_maxrss / 1024 + unshared_mb,
                    "import_seconds": import_seconds + startup,
                    "import_cpu_seconds": import_cpu + startup,
                }
            )
    print(json.dumps(results))
    return 0


# --- the caller's side ---------------------------------------------------------------------------


def _read(path: Path) -> tuple[str, int]:
    size = path.stat().st_size if path.exists() else 0
    if not size:
        return "", 0
    with path.open("rb") as handle:
        return handle.read(CAPTURED_BYTES).decode("utf-8", "replace"), size


def run_corpus(directory: Path, workers: int = 2, cases: list[Any] | None = None) -> list[Outcome]:
    """Build the corpus under `directory` and run every case; outcomes in the cases' order."""
    sys.path.insert(0, str(HERE))
    import make_corpus

    chosen = cases if cases is not None else make_corpus.CASES
    # The unprivileged user must reach the files: the corpus folder is open to all for reading.
    directory.chmod(0o755)
    cases_dir = directory / "cases"
    streams = directory / "streams"
    streams.mkdir()
    invocations = make_corpus.build(cases_dir, chosen)
    plans = []
    for item in chosen:
        invocation = invocations[item.name]
        plans.append(
            {
                "name": item.name,
                "argv": list(invocation.argv),
                "cwd": str(cases_dir / item.name),
                "stdin": invocation.stdin,
                "stdout": str(streams / f"{item.name}.out"),
                "stderr": str(streams / f"{item.name}.err"),
                "audit": str(streams / f"{item.name}.audit"),
                "importable": invocation.importable,
                "unprivileged": invocation.unprivileged,
            }
        )
    for folder in (directory, cases_dir, *cases_dir.iterdir()):
        folder.chmod(0o755)
    streams.chmod(0o777)
    plan_path = directory / "plan.json"
    plan_path.write_text(json.dumps(plans))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NO_COLOR="1", VAECHECK_DEBUG="")
    env.pop("FORCE_COLOR", None)
    env.pop("GITHUB_ACTIONS", None)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, __file__, "--serve", str(plan_path), "--workers", str(workers)],
        capture_output=True,
        text=True,
        env=env,
        cwd=directory,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the corpus server failed ({done.returncode}): {done.stderr[-2000:]}")
    measured = {row["name"]: row for row in json.loads(done.stdout)}
    outcomes = []
    for item in chosen:
        row = measured[item.name]
        stdout, stdout_bytes = _read(streams / f"{item.name}.out")
        stderr, stderr_bytes = _read(streams / f"{item.name}.err")
        canaries = tuple(c for c in invocations[item.name].canaries if os.path.lexists(c))
        audit_path = streams / f"{item.name}.audit"
        audit = json.loads(audit_path.read_text()) if audit_path.exists() else []
        outcomes.append(
            Outcome(
                blame=invocations[item.name].blame,
                stdout=stdout,
                stderr=stderr,
                stdout_bytes=stdout_bytes,
                stderr_bytes=stderr_bytes,
                canaries_present=canaries,
                audit=tuple((event, argument) for event, argument in audit),
                folder=str(cases_dir / item.name),
                **row,
            )
        )
    return outcomes


def main(argv: list[str]) -> int:
    workers = 2
    if "--workers" in argv:
        workers = int(argv[argv.index("--workers") + 1])
    if argv and argv[0] == "--serve":
        return serve(argv[1], workers)
    keep = argv[argv.index("--keep") + 1] if "--keep" in argv else None
    directory = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="vaecheck-corpus-"))
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    outcomes = run_corpus(directory, workers)
    print(f"{'case':<42} {'exit':>4} {'wall s':>7} {'+imp s':>7} {'cpu s':>6} {'rss MB':>7}  message")
    for outcome in outcomes:
        message = (outcome.stderr or outcome.stdout).strip().splitlines()
        shown = message[0] if message else ""
        shown = shown if len(shown) < 150 else shown[:147] + "..."
        status = outcome.exit if outcome.killed_by is None else outcome.killed_by
        print(
            f"{outcome.name:<42} {status!s:>4} {outcome.wall_seconds:7.3f} {outcome.seconds:7.3f} "
            f"{outcome.cpu_seconds:6.2f} {outcome.peak_rss_mb:7.1f}  {shown}"
        )
    print(
        f"{len(outcomes)} cases in {time.perf_counter() - started:.1f} s; peak wall "
        f"{max(o.wall_seconds for o in outcomes):.3f} s (+{outcomes[0].import_seconds:.2f} s imports), "
        f"peak CPU {max(o.cpu_seconds for o in outcomes):.3f} s (+{outcomes[0].import_cpu_seconds:.2f} s), "
        f"peak RSS {max(o.peak_rss_mb for o in outcomes):.1f} MB"
    )
    if not keep:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

