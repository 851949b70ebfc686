"""Helpers shared by the benchmark scripts: machine description and CPU-load accounting."""

import os
import platform
import resource
import time


def cpu_model():
    """CPU model name from /proc/cpuinfo (or platform.processor())."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags():
    """The SIMD flags that matter for BLAS, as present in /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [x for x in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
                            if x in flags]
    except OSError:
        pass
    return []


def machine_lines(threads, with_torch=True):
    """Markdown bullet lines describing the machine and the numerical libraries.

    With ``with_torch=False`` torch is not imported (only its version is read).
    """
    from importlib import metadata

    import numpy as np
    import scipy
    import sklearn
    import threadpoolctl

    lines = [
        f"- CPU: {cpu_model()} ({os.cpu_count()} logical CPUs visible; "
        f"flags: {', '.join(cpu_flags()) or 'n/a'})",
        f"- OS: {platform.platform()}; Python {platform.python_version()}",
        f"- numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}",
    ]
    try:
        if not with_torch:
            lines.append(f"- torch {metadata.version('torch')} installed (not used here)")
        else:
            import torch

            lines.append(
                f"- torch {torch.__version__} (MKL: {torch.backends.mkl.is_available()}, "
                f"oneDNN: {torch.backends.mkldnn.is_available()}, "
                f"torch.get_num_threads()={torch.get_num_threads()})"
            )
    except (ImportError, metadata.PackageNotFoundError):
        lines.append("- torch: not installed")
    for pool in threadpoolctl.threadpool_info():
        lines.append(
            f"- thread pool: {pool.get('internal_api')} {pool.get('version', '')} "
            f"({pool.get('user_api')}, arch {pool.get('architecture', '?')}, "
            f"threading {pool.get('threading_layer', '?')}, "
            f"num_threads={pool.get('num_threads')}) "
            f"[{os.path.basename(pool.get('filepath', ''))}]"
        )
    lines.append(f"- code: {code_state()}")
    what = "threadpoolctl limit + torch.set_num_threads" if with_torch else "threadpoolctl limit"
    lines.append(f"- threads requested: {threads} ({what})")
    return lines


def code_state():
    """Commit and uncommitted changes of the package (read-only git commands)."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "skdeeprnn"],
                               capture_output=True, text=True, timeout=10).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "unknown (git not available)"
    dirty = [line[3:] for line in dirty if line.strip()]
    if not head:
        return "unknown (not a git checkout)"
    if not dirty:
        return f"commit {head}, package unmodified"
    return f"commit {head} + uncommitted changes in {', '.join(sorted(dirty))}"


def _proc_stat_busy():
    """(busy, total) jiffies of all CPUs from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()
    except OSError:
        return None
    values = [int(v) for v in parts[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])
    return total - idle, total


class LoadMonitor:
    """How much CPU other processes used while we ran (they distort the timings).

    Compares the machine's busy time from /proc/stat with this process' (and
    its children's) own CPU time over the same interval.
    """

    def __init__(self):
        self.start()

    @staticmethod
    def _own_cpu():
        s = resource.getrusage(resource.RUSAGE_SELF)
        c = resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

    def start(self):
        """Start (or restart) the interval."""
        self._wall = time.perf_counter()
        self._stat = _proc_stat_busy()
        self._own = self._own_cpu()

    def report(self):
        """Return a dict with wall seconds, our CPU seconds and other processes' CPU seconds."""
        wall = time.perf_counter() - self._wall
        own = self._own_cpu() - self._own
        out = {"wall_s": wall, "own_cpu_s": own, "other_cpu_s": None, "ncpu": os.cpu_count()}
        now = _proc_stat_busy()
        if now is not None and self._stat is not None:
            hz = os.sysconf("SC_CLK_TCK")
            busy = (now[0] - self._stat[0]) / hz
            out["other_cpu_s"] = max(0.0, busy - own)
        return out

    def describe(self):
        """One human line: how busy the machine was with other work."""
        r = self.report()
        if r["other_cpu_s"] is None:
            return f"wall {r['wall_s']:.1f} s, our CPU {r['own_cpu_s']:.1f} s"
        frac = r["other_cpu_s"] / max(r["wall_s"] * r["ncpu"], 1e-9)
        return (
            f"wall {r['wall_s']:.1f} s; our CPU {r['own_cpu_s']:.1f} s; CPU used by other "
            f"processes meanwhile {r['other_cpu_s']:.1f} s = {100 * frac:.0f}% of the "
            f"{r['ncpu']} CPUs"
        )


def rss_kib():
    """(VmRSS, VmHWM) of this process in KiB from /proc/self/status, or (None, None)."""
    rss = hwm = None
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def reset_peak_rss():
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS; True if it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def other_load(seconds=1.0):
    """Share (0..1) of all CPUs used by other processes over the next ``seconds``."""
    mon = LoadMonitor()
    time.sleep(seconds)
    r = mon.report()
    if r["other_cpu_s"] is None:
        return 0.0
    return r["other_cpu_s"] / max(r["wall_s"] * r["ncpu"], 1e-9)


def wait_until_quiet(threshold, max_wait, log=None):
    """Sleep until other processes use less than ``threshold`` of the CPUs (or ``max_wait`` s).

    Returns the last measured share.
    """
    start = time.perf_counter()
    load = other_load()
    while load > threshold and time.perf_counter() - start < max_wait:
        if log is not None:
            log(f"    machine busy ({100 * load:.0f}% of the CPUs used by others); waiting")
        time.sleep(5)
        load = other_load()
    return load
