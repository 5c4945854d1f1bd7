"""The IdP against its fair peer: ``python -m bench.versus [--rounds 9] [--seconds 15]``.

The peer (``bench/peer/server.mjs``) is node-oidc-provider 9 configured for FAPI 2.0 doing the
protocol work of ``bench.flow``'s login with the same card checks; the IdP is ``bench.flow``'s
(gunicorn, ``idp/gunicorn_conf.py``, one worker, SQLite + the in-process store by default). One
world serves both (``bench/flow_world.py``): the same sandbox cards and CA, the same client and
its ES256 key; each card's account and remembered consent exist on both sides before the clock.
Both servers run from the start, each pinned to CPU 0, and the load generator (this process, the
same ``bench/flow_client.py`` browsers checking every answer) to CPU 1; each round measures one
then the other for ``--seconds`` (the order alternating round by round, so the machine's drift
hits both alike), after ``--warmup`` untimed seconds of each.

The figure: **server CPU per complete login**, the server's processes' user + system CPU
(all threads; the gunicorn arbiter and its workers, the one node process) over the run / the
logins completed. The final JSON line has each side's median and its rounds, the ratio of the
medians (IdP / peer) and the median of the rounds' ratios; the exit status is 1 when either
side had an error. ``--record`` appends the line to bench/results/versus.jsonl.

node-oidc-provider's interactions add one exchange per login: the card's result redirects to
its authorization endpoint, which then redirects to the client (7 HTTP exchanges to the IdP's 6).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

from bench.flow import CLIENT_CPU, RESULTS, SERVER_CPU, Gunicorn, drive, percentile
from bench.flow_jose import b64url
from bench.flow_world import REDIRECT_URI, public_jwk

PEER = Path(__file__).resolve().parent / "peer"
NODE = shutil.which("node") or "node"
SIDES = ("peer", "idp")


class Peer(Gunicorn):
    """``node bench/peer/server.mjs`` on its own port, pinned to the IdP's core."""

    def __init__(self, world, port: int) -> None:
        if not (PEER / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError("bench/peer has no node modules: run script/bootstrap")
        self.issuer = f"http://127.0.0.1:{port}"
        self.log = world.work / "peer.log"
        config = world.work / "peer.json"
        cards = [
            {"certificate": b64url(card.certificate_der), "account": f"account-{card.card_id}"}
            for card in world.cards
        ]
        config.write_text(
            json.dumps(
                {
                    "issuer": self.issuer,
                    "port": port,
                    "client": {
                        "client_id": world.client_id,
                        "redirect_uri": REDIRECT_URI,
                        "jwk": public_jwk(world.client_key, world.client_kid),
                    },
                    "anchors": _anchors(world),
                    "cards": cards,
                }
            )
        )
        command = [NODE, str(PEER / "server.mjs"), str(config)]
        if shutil.which("taskset"):
            command = ["taskset", "-c", str(SERVER_CPU), *command]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        self.workers = 1

    def wait_ready(self, url: str, timeout: float = 60) -> None:
        try:
            super().wait_ready(url, timeout)
        except RuntimeError as e:
            raise RuntimeError(f"{e}\n{self.log.read_text()[-2000:]}") from None

    def worker_pids(self) -> list[int]:
        return [self.process.pid]


def _anchors(world) -> list[str]:
    """The trust anchors of the card's authentication certificates, PEM, as the IdP has them."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from sandbox.profiles import CertKind

    pems = []
    for path in sorted(world.state.trust_dir(CertKind.AUTH).iterdir()):
        if path.is_file():
            data = path.read_bytes()
            loader = x509.load_pem_x509_certificate if b"-----BEGIN" in data else None
            certificate = loader(data) if loader else x509.load_der_x509_certificate(data)
            pems.append(certificate.public_bytes(Encoding.PEM).decode())
    return pems


def server_cpu_seconds(server: Gunicorn) -> float:
    """User + system CPU of the server's processes: gunicorn's arbiter and workers, or node."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in {server.process.pid, *server.worker_pids()}:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / tick


def measure(server: Gunicorn, world, args, signers, **options) -> dict:
    """One run against ``server``: warm-up, then ``args.seconds`` of logins; CPU per login."""
    cpu_before = 0.0

    def mark() -> None:
        nonlocal cpu_before
        cpu_before = server_cpu_seconds(server)

    result = drive(world, args, signers, mark, **options)
    cpu = server_cpu_seconds(server) - cpu_before
    flows = result["flows"]
    return {
        "server_cpu_ms_per_flow": round(cpu * 1000 / max(1, len(flows)), 2),
        "flows_per_s": round(len(flows) / result["elapsed"], 1),
        "flows": len(flows),
        "p50_ms": round(percentile(flows, 0.5) * 1000, 2),
        "p99_ms": round(percentile(flows, 0.99) * 1000, 2),
        "errors": result["errors"],
        "error_kinds": result["error_kinds"],
        "steps": sorted(result["steps_p50_ms"]),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def _summary(runs: list[dict]) -> dict:
    cpu = [r["server_cpu_ms_per_flow"] for r in runs]
    kinds: dict[str, int] = {}
    for run in runs:
        for kind, count in run["error_kinds"].items():
            kinds[kind] = kinds.get(kind, 0) + count
    return {
        "server_cpu_ms_per_flow": round(statistics.median(cpu), 2),
        "rounds": cpu,
        "flows_per_s": round(statistics.median(r["flows_per_s"] for r in runs), 1),
        "flows": sum(r["flows"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "error_kinds": kinds,
        "steps": runs[0]["steps"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.versus", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rounds", type=int, default=9, help="runs of each side, alternating")
    parser.add_argument("--seconds", type=float, default=15, help="length of one run")
    parser.add_argument("--warmup", type=float, default=5, help="untimed seconds per side first")
    parser.add_argument("--concurrency", type=int, default=8, help="browsers at once")
    parser.add_argument("--cards", type=int, default=8, help="citizens (cards, accounts)")
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the IdP's: sqlite (SQLite + in-process store) or postgresql (PostgreSQL + Redis)",
    )
    parser.add_argument(
        "--record", action="store_true", help="append to bench/results/versus.jsonl"
    )
    parser.add_argument("--label", default="", help="free text kept in the JSON line")
    args = parser.parse_args(argv)
    # what bench.flow's drive reads
    flow_args = SimpleNamespace(
        concurrency=args.concurrency, seconds=args.seconds, rate=0, challenge="page"
    )

    from bench.flow_client import CardSigner
    from bench.flow_world import World
    from sandbox.server import free_port

    loadavg_before = round(os.getloadavg()[0], 2)
    work = Path(tempfile.mkdtemp(prefix="bench-versus-"))
    world = World.build(work, database=args.store, workers=1, cards=args.cards, port=free_port())
    servers: dict[str, Gunicorn] = {}
    runs: dict[str, list[dict]] = {side: [] for side in SIDES}
    try:
        signers = [CardSigner(card, world.state) for card in world.cards]
        for signer in signers:
            signer.check()
        servers["idp"] = Gunicorn(world, 1, "gthread", 4, None)
        servers["idp"].wait_ready(world.issuer)
        servers["peer"] = peer = Peer(world, free_port())
        peer.wait_ready(peer.issuer)
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setaffinity(0, {CLIENT_CPU})
        worlds = {"idp": world, "peer": SimpleNamespace(**{**vars(world), "issuer": peer.issuer})}
        options = {"idp": {}, "peer": {"resume": True}}
        warm = SimpleNamespace(**{**vars(flow_args), "seconds": args.warmup})
        for side in SIDES:  # untimed: node's JIT and both servers' caches settle
            measure(servers[side], worlds[side], warm, signers, **options[side])
        for round_ in range(args.rounds):
            order = SIDES if round_ % 2 == 0 else SIDES[::-1]
            for side in order:
                run = measure(servers[side], worlds[side], flow_args, signers, **options[side])
                runs[side].append(run)
                print(f"round {round_ + 1} {side:4} {json.dumps(run)}", file=sys.stderr)
    finally:
        for server in servers.values():
            server.stop()
        world.close()
        shutil.rmtree(work, ignore_errors=True)
    sides = {side: _summary(r) for side, r in runs.items()}
    pairs = [
        i["server_cpu_ms_per_flow"] / p["server_cpu_ms_per_flow"]
        for i, p in zip(runs["idp"], runs["peer"], strict=True)
        if p["server_cpu_ms_per_flow"] > 0
    ]
    peer_ms = sides["peer"]["server_cpu_ms_per_flow"]
    line = {
        "peer": sides["peer"],
        "idp": sides["idp"],
        "ratio": round(sides["idp"]["server_cpu_ms_per_flow"] / peer_ms, 2) if peer_ms else None,
        "ratio_of_rounds": round(statistics.median(pairs), 2) if pairs else None,
        "errors": sides["peer"]["errors"] + sides["idp"]["errors"],
        "rounds": args.rounds,
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "store": "sqlite+memory" if args.store == "sqlite" else "postgresql+redis",
        "idp_server": "gunicorn gthreadx4, 1 worker",
        "peer_server": "node-oidc-provider " + _peer_version(),
        "node": _node_version(),
        "label": args.label,
        "loadavg_1m": [loadavg_before, round(os.getloadavg()[0], 2)],
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
    }
    if args.record:
        RESULTS.mkdir(exist_ok=True)
        with (RESULTS / "versus.jsonl").open("a") as f:
            f.write(json.dumps(line) + "\n")
    print(json.dumps(line))
    return 1 if line["errors"] else 0


def _node_version() -> str:
    done = subprocess.run([NODE, "--version"], capture_output=True, text=True)  # noqa: S603
    return done.stdout.strip()


def _peer_version() -> str:
    with contextlib.suppress(OSError, ValueError, KeyError):
        return json.loads((PEER / "node_modules" / "oidc-provider" / "package.json").read_text())[
            "version"
        ]
    return "?"


if __name__ == "__main__":
    sys.exit(main())
