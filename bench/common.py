"""Small helpers shared by the benchmark parts: percentiles, timers, memory, child processes."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from evals.measure import percentile

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): the evals' one definition."""
    return percentile(values, q)


def summary(values_ms: list[float]) -> dict:
    return {"n": len(values_ms), "p50_ms": round(pct(values_ms, 50), 2), "p95_ms": round(pct(values_ms, 95), 2),
            "mean_ms": round(sum(values_ms) / len(values_ms), 2) if values_ms else None}


class Clock:
    """Wall and CPU seconds of a block (CPU time is less sensitive to other processes on the machine)."""

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def rss_of(pid: int) -> dict:
    """Current and peak resident memory of another process, from /proc."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return out


def run_child(args: list[str], timeout: float = 1800) -> dict:
    """Run `python -m bench.child ...` and return the JSON it prints last."""
    proc = subprocess.run([sys.executable, "-m", "bench.child", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=os.environ.copy())
    if proc.returncode != 0:
        raise RuntimeError(f"bench.child {args[:1]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def table(headers: list[str], rows: list[list]) -> str:
    def cell(v):
        if isinstance(v, float):
            return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
