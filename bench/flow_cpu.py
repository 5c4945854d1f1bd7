"""Per-endpoint CPU of the IdP during a login benchmark: ``python -m bench.flow_cpu [flow args]``.

Runs ``bench.flow`` with ``--profile`` in CPU mode (no cProfile: only each request's thread CPU
time and SQL statement count, ``bench/flow_profile_conf.py``) and prints one line per endpoint
and the totals per login. CPU time is what the machine's other load disturbs least; statements
are exact.
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


def summarise(folder: Path, flows: int) -> dict:
    merged: dict[str, list[float]] = {}
    for path in glob.glob(str(folder / "*.cpu.json")):
        for endpoint, (cpu, count, statements) in json.loads(Path(path).read_text()).items():
            entry = merged.setdefault(endpoint, [0.0, 0, 0])
            entry[0] += cpu
            entry[1] += count
            entry[2] += statements
    return {
        endpoint: {
            "requests": count,
            "cpu_ms": round(cpu * 1000 / count, 3),
            "sql": round(statements / count, 2),
        }
        for endpoint, (cpu, count, statements) in sorted(merged.items())
        if count >= flows // 2
    }


def main(argv: list[str]) -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-cpu-"))
    os.environ["BENCH_PROFILE_MODE"] = "cpu"
    code = flow.main([*argv, "--profile", str(folder)])
    if code:
        return code
    per = summarise(folder, 10)
    shutil.rmtree(folder, ignore_errors=True)
    login_cpu = sum(v["cpu_ms"] for v in per.values())
    login_sql = sum(v["sql"] for v in per.values())
    for endpoint, values in per.items():
        print(f"{endpoint:42s} {values['cpu_ms']:7.2f} ms  {values['sql']:5.1f} SQL")
    print(
        json.dumps(
            {
                "endpoints": per,
                "login_cpu_ms": round(login_cpu, 2),
                "login_sql": round(login_sql, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
