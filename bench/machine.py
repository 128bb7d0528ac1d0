"""The machine a benchmark ran on, as its figures are labelled: CPU, cores, memory, load,
Python and numpy versions, the date, and any BLAS or thread settings in the environment."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

import numpy as np


def describe() -> dict[str, str]:
    memory = cpu = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_"))}
    return {
        "date": datetime.date.today().isoformat(),
        "system": f"{platform.system()} {platform.release()}",
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "memory": memory,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load": ", ".join(f"{v:.2f}" for v in os.getloadavg()),
        "threads": os.environ.get("VAECHECK_THREADS", "default"),
        "blas env": ", ".join(f"{k}={v}" for k, v in blas.items()) or "none set",
    }
