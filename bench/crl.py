"""CRL index benchmark: ``python -m bench.crl --entries N [--record]``.

Builds a signed CRL of N entries with the sandbox's streaming generator, then, in a fresh child
process (so its peak RSS is the ingest's, not the generator's), ingests it through the same
code the IdP uses (stream, hash, verify, index) and times lookups of listed and unlisted serials.
The final line is one JSON object; ``--record`` appends it to bench/results/crl.jsonl and
redraws bench/results/crl.png.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
LOOKUPS = 20_000


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def generate(folder: Path, entries: int) -> dict:
    from cryptography.hazmat.primitives import serialization

    from sandbox import pki
    from sandbox.large_crl import write_large_crl
    from sandbox.profiles import CertKind

    now = dt.datetime.now(dt.UTC)
    ca = pki.make_ca(CertKind.AUTH, now=now)
    (folder / "ca.pem").write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    started = time.perf_counter()
    large = write_large_crl(ca, folder / "bench.crl", entries, now=now, seed=7)
    return {"generate_s": round(time.perf_counter() - started, 3), "crl_bytes": large.size,
            "seed": large.seed, "synthetic": large.synthetic}  # fmt: skip


def measure(folder: Path, synthetic: int, seed: int) -> dict:
    """Runs in the child: ingest, then lookups; reports this process's peak RSS."""
    from cryptography import x509

    from idp.jpki.crl import CrlStatusSource
    from idp.jpki.crl_ingest import Expectation, ingest
    from idp.jpki.der import serial_key
    from idp.jpki.errors import JpkiValidationError
    from idp.jpki.settings import CertificateType
    from sandbox.large_crl import synthetic_serial

    anchor = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    with (folder / "bench.crl").open("rb") as stream:
        index = ingest(stream, folder / "auth-full.idx", (anchor,),
                       Expectation(False, now, dt.timedelta(minutes=5)))  # fmt: skip
    ingest_s = time.perf_counter() - started
    ingest_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    index.close()  # lookups go through the status source's own mapping, as in the IdP
    source = CrlStatusSource(folder, CertificateType.AUTH)
    index = source._index(source.full_path)
    rng = random.Random(1)
    present = [synthetic_serial(seed, rng.randrange(synthetic)) for _ in range(LOOKUPS // 2)]
    absent = [synthetic_serial(seed, synthetic + rng.randrange(10**9)) for _ in range(LOOKUPS // 2)]
    serials = present + absent
    rng.shuffle(serials)
    lookup_us, found = [], 0
    clock = time.perf_counter_ns
    for serial in serials:
        begin = clock()
        hit = index.lookup(serial_key(serial))
        lookup_us.append((clock() - begin) / 1000)
        found += hit is not None
    assert found == len(present), (found, len(present))
    check_us = []
    for serial in serials[:5000]:
        begin = clock()
        with contextlib.suppress(JpkiValidationError):
            source.check(serial, now)
        check_us.append((clock() - begin) / 1000)
    return {
        "ingest_s": round(ingest_s, 3),
        "peak_rss_mb": round(ingest_rss, 1),
        "peak_rss_with_lookups_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
        "index_mb": round((folder / "auth-full.idx").stat().st_size / 2**20, 1),
        "lookup_p50_us": round(statistics.median(lookup_us), 2),
        "lookup_p99_us": round(_percentile(lookup_us, 0.99), 2),
        "check_p50_us": round(statistics.median(check_us), 2),
        "check_p99_us": round(_percentile(check_us, 0.99), 2),
        "lookups": len(serials),
    }


def median_record(records: list[dict]) -> dict:
    """Per metric, the median over runs of one size."""
    keys = [k for k, v in records[0].items() if isinstance(v, int | float)]
    return {k: statistics.median(r[k] for r in records) for k in keys}


def plot(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    runs: dict[int, list[dict]] = {}
    for record in records:
        runs.setdefault(record["entries"], []).append(record)
    latest = {n: median_record(found) for n, found in runs.items()}  # medians of the runs
    sizes = sorted(latest)
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 4))
    left.plot(sizes, [latest[n]["ingest_s"] for n in sizes], "o-")
    left.plot([1_000_000], [5], "rx", markersize=10, label="target at 1M: 5 s")
    left.set(xscale="log", yscale="log", xlabel="entries", ylabel="ingest (s)", title="Ingest")
    middle.plot(sizes, [latest[n]["peak_rss_mb"] for n in sizes], "o-")
    middle.plot([1_000_000], [150], "rx", markersize=10, label="target at 1M: 150 MB")
    middle.set(xscale="log", xlabel="entries", ylabel="peak RSS (MB)", title="Memory")
    for key in ("lookup_p50_us", "lookup_p99_us", "check_p99_us"):
        right.plot(sizes, [latest[n][key] for n in sizes], "o-", label=key)
    right.axhline(20, color="red", linestyle="--", label="p99 target: 20 µs")
    right.set(xscale="log", xlabel="entries", ylabel="µs", title="Lookup", ylim=(0, None))
    for axis in (left, middle, right):
        axis.legend(fontsize=7)
        axis.grid(alpha=0.3)
    figure.suptitle("CRL index: median of recorded runs (bench/results/crl.jsonl)", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--record", action="store_true", help="append to bench/results/")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--synthetic", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.synthetic, args.seed)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-crl-") as scratch:
        folder = Path(scratch)
        made = generate(folder, args.entries)
        child = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.crl", "--measure", str(folder),
             "--synthetic", str(made["synthetic"]), "--seed", str(made["seed"])],
            capture_output=True, text=True, check=True, timeout=900,
        )  # fmt: skip
        measured = json.loads(child.stdout.strip().splitlines()[-1])
    result = {"entries": args.entries, **measured, "generate_s": made["generate_s"],
              "crl_mb": round(made["crl_bytes"] / 2**20, 1),
              "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "python": platform.python_version(), "cpus": os.cpu_count()}  # fmt: skip
    if args.record:
        RESULTS.mkdir(exist_ok=True)
        with (RESULTS / "crl.jsonl").open("a") as log:
            log.write(json.dumps(result) + "\n")
        records = [json.loads(line) for line in (RESULTS / "crl.jsonl").read_text().splitlines()]
        plot(records, RESULTS / "crl.png")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
