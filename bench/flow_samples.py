"""Where a login's server time goes: ``python -m bench.flow_samples [flow args]``.

Runs ``bench.flow`` with the sampling profiler of ``bench/flow_profile_conf.py`` and prints the
share of samples by library (the frame on top of the stack) and the functions most often on the
stack (inclusive), as one JSON line after a readable table. The sampler sees mostly the
places that release the GIL (socket reads, commits): use it for what requests wait on, and
``libraries_of`` on cProfile files (``BENCH_PROFILE_MODE=cprofile``) for CPU by library.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench import flow
from bench.flow_cpu import summarise


def merge(folder: Path) -> dict:
    total, own, inclusive = 0, {}, {}
    for path in glob.glob(str(folder / "*.samples.json")):
        data = json.loads(Path(path).read_text())
        total += data["total"]
        for target, source in ((own, data["self"]), (inclusive, data["inclusive"])):
            for key, count in source.items():
                target[key] = target.get(key, 0) + count
    return {"total": total, "self": own, "inclusive": inclusive}


def main(argv: list[str]) -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-samples-"))
    os.environ["BENCH_PROFILE_MODE"] = "sample"
    code = flow.main([*argv, "--profile", str(folder)])
    if code:
        return code
    data = merge(folder)
    endpoints = summarise(folder, 10)
    shutil.rmtree(folder, ignore_errors=True)
    total = max(1, data["total"])
    libraries = {
        k: round(100 * v / total, 1) for k, v in sorted(data["self"].items(), key=lambda kv: -kv[1])
    }
    functions = {
        k: round(100 * v / total, 1)
        for k, v in sorted(data["inclusive"].items(), key=lambda kv: -kv[1])[:60]
    }
    print(f"{data['total']} samples")
    for name, share in libraries.items():
        print(f"  {share:5.1f}%  {name}")
    for name, share in functions.items():
        print(f"  {share:5.1f}%  {name}")
    print(
        json.dumps(
            {
                "samples": data["total"],
                "self_by_library_pct": libraries,
                "inclusive_pct": functions,
                "endpoints": endpoints,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def libraries_of(pstats_files: list[str]) -> dict[str, float]:
    """Share of own CPU time (cProfile ``tottime``) by library, from pstats files."""
    import pstats

    from bench.flow_profile_conf import _library

    stats = pstats.Stats(*pstats_files)
    shares: dict[str, float] = {}
    for (filename, _, name), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        library = _library(filename) if filename != "~" else _builtin(name)
        shares[library] = shares.get(library, 0.0) + tottime
    total = sum(shares.values()) or 1.0
    return {k: round(100 * v / total, 1) for k, v in sorted(shares.items(), key=lambda kv: -kv[1])}


def _builtin(name: str) -> str:
    """C functions cProfile files under "~": name the usual heavy ones."""
    for needle, library in (
        ("sqlite3", "SQLite driver"),
        ("psycopg", "PostgreSQL driver"),
        ("cryptography", "cryptography"),
        ("socket", "sockets"),
        ("_hashlib", "hashing"),
    ):
        if needle in name:
            return library
    return "builtins"
