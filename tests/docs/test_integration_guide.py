"""The integration guide, executed: every code block of docs/integration-guide.md runs, so the
guide cannot drift from the IdP.

Each fenced block carries a marker the reader does not see, ``<!-- guide-test: ROLE -->``, on
the line before it; a block without one fails ``test_every_block_is_run``. Roles:

- ``python``: the Python blocks, in order, are one program (as a reader pastes them), run by
  ``guide_driver.py`` in a directory of its own, which then logs in with the guide's functions;
- ``shell``: ``idp client add`` as the operator runs it, in the IdP's environment;
- ``node``: the openid-client module, driven by ``guide_driver.mjs``;
- ``claims-request``: sent in the Python login; ``id-token-excerpt``: its shape must be the
  shape of what that login receives; ``json``: must parse;
- ``demo``: ``script/demo``, which tests/demo runs.

The IdP is a real process on https (a test CA that Python and Node are told to trust), the
testing environment with the card-less login of ``tests.cardless`` in place of the card (the one
step the reader does with a card), on SQLite. ``https://idp.example`` in the blocks becomes its
issuer and ``https://bank.example`` a loopback https origin (registration resolves the hosts of
the URLs it will request, and loopback is what the testing IdP may reach).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.oidc.live import free_port
from tests.production.topology import make_tls, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "integration-guide.md"
HERE = Path(__file__).parent
NODE_MODULES = ROOT / "tests" / "oidc" / "interop" / "node_modules"
ROLES = {"python", "shell", "node", "claims-request", "id-token-excerpt", "json", "demo"}
ADMIN_TOKEN = "guide-admin-" + "t" * 32
MARKER = re.compile(r"<!-- guide-test: ([a-z-]+)\b[^>]*-->")


@dataclass(frozen=True)
class Block:
    role: str
    line: int
    code: str


def blocks() -> list[Block]:
    """The guide's fenced blocks with their roles; a block without a marker has role ''."""
    found, lines, i = [], GUIDE.read_text(encoding="utf-8").splitlines(), 0
    while i < len(lines):
        if not lines[i].startswith("```"):
            i += 1
            continue
        before = next((line for line in reversed(lines[:i]) if line.strip()), "")
        marker = MARKER.fullmatch(before.strip())
        end = lines.index("```", i + 1)
        found.append(Block(marker.group(1) if marker else "", i + 1, "\n".join(lines[i + 1 : end])))
        i = end + 1
    return found


def of_role(role: str) -> list[Block]:
    return [b for b in blocks() if b.role == role]


def test_every_block_is_run() -> None:
    found = blocks()
    assert [(b.line, b.role) for b in found if b.role not in ROLES] == []
    assert {b.role for b in found} == ROLES
    assert len(of_role("shell")) == len(of_role("node")) == len(of_role("claims-request")) == 1


def test_json_blocks_parse() -> None:
    for block in of_role("json") + of_role("claims-request") + of_role("id-token-excerpt"):
        json.loads(block.code)


# --- the live IdP and the reader's programs ------------------------------------------------------


@dataclass(frozen=True)
class Reader:
    """The reader's directory and environment beside a live IdP, after the Python program ran."""

    issuer: str
    bank: str
    folder: Path
    env: dict[str, str]
    python: dict  # what guide_driver printed


def _placed(code: str, issuer: str, bank: str) -> str:
    return code.replace("https://idp.example", issuer).replace("https://bank.example", bank)


@pytest.fixture(scope="module")
def reader(tmp_path_factory) -> Iterator[Reader]:
    folder = tmp_path_factory.mktemp("guide")
    ca, certificate, key = make_tls(folder / "tls")
    port, bank = free_port(), f"https://127.0.0.1:{free_port()}"
    issuer = f"https://127.0.0.1:{port}"
    config = folder / "idp.toml"
    config.write_text(
        f'environment = "testing"\nissuer = "{issuer}"\n'
        "[keys]\nreload_seconds = 0\nmin_publish_seconds = 0\n"
        "[client_urls]\nallow_loopback = true\n"
    )
    env = {
        **os.environ,
        "IDP_CONFIG": str(config),
        "IDP_DATABASE_URL": f"sqlite:///{folder}/idp.sqlite3",
        "IDP_SECRET_KEY": "guide-secret-" + "x" * 32,
        "IDP_ADMIN_TOKEN": ADMIN_TOKEN,
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "REQUESTS_CA_BUNDLE": str(ca),
        "NODE_EXTRA_CA_CERTS": str(ca),
    }
    idp = str(Path(sys.executable).with_name("idp"))
    subprocess.run([idp, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)
    log = folder / "idp.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.cardless_wsgi", str(port), str(certificate), str(key)],
            env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until_serving(f"{issuer}/jwks", server, log, verify=str(ca))
        program = folder / "guide.py"
        code = "\n\n".join(_placed(b.code, issuer, bank) for b in of_role("python"))
        program.write_text(code + "\n", encoding="utf-8")
        (folder / "claims.json").write_text(of_role("claims-request")[0].code, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "tests.docs.guide_driver", str(program), "claims.json"],
            env=env, cwd=folder, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr + log.read_text()[-3000:]
        yield Reader(issuer, bank, folder, env, json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        server.terminate()
        server.wait(timeout=10)


def _shape(value):
    """Member names all the way down (lists by their first element); values left out."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return None


def test_the_python_program_logs_in_with_par_dpop_and_private_key_jwt(reader: Reader) -> None:
    claims, client_id = reader.python["claims"], reader.python["client_id"]
    assert reader.python["token_type"] == "DPoP"  # noqa: S105
    assert claims["iss"] == reader.issuer
    assert client_id in claims["aud"]
    assert claims["acr"] == "urn:jpki-idp:acr:sign-cert-identity"  # the §7 claims request
    assert reader.python["userinfo"]["sub"] == claims["sub"]
    excerpt = json.loads(of_role("id-token-excerpt")[0].code)
    assert _shape(excerpt["verified_claims"]) == _shape(claims["verified_claims"])


def test_the_shared_signals_section_sets_up_and_verifies_a_stream(reader: Reader) -> None:
    found, client_id = reader.python["ssf"], reader.python["client_id"]
    stream = found["stream"]
    assert stream["iss"] == reader.issuer
    assert stream["aud"] == client_id
    assert stream["delivery"]["method"] == "urn:ietf:rfc:8936"
    assert stream["delivery"]["endpoint_url"].startswith(reader.issuer + "/ssf/poll/")
    assert len(stream["events_delivered"]) == 5  # every event type the IdP sends
    verification = found["verification"]
    assert verification["sub_id"] == {"format": "opaque", "id": stream["stream_id"]}
    assert verification["aud"] == client_id
    assert found["after"] == {"sets": {}, "moreAvailable": False}  # acknowledged: not again
    assert found["listed"] == [stream]


def _error_table() -> list[tuple[str, str]]:
    """(where, what you get) of each row of the guide's error table (§12)."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## 12. Error handling") : text.index("## 13.")]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ")]
    return [(row[0].lstrip("| "), row[1]) for row in rows[2:]]


def test_the_error_table_says_what_the_idp_answers(reader: Reader) -> None:
    table = _error_table()
    for probe, (status, error) in reader.python["refusals"].items():
        where = probe.split()[0]
        rows = [what for place, what in table if where in re.split(r"[/,] *", place)]
        assert any(f"`{status} {error}`" in what for what in rows), (probe, status, error, rows)


def test_the_operators_command_registers_the_client(reader: Reader) -> None:
    (block,) = of_role("shell")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _placed(block.code, reader.issuer, reader.bank)],
        env=reader.env, cwd=reader.folder, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    registered = json.loads(done.stdout.strip().splitlines()[-1])
    assert registered["token_endpoint_auth_method"] == "private_key_jwt"  # noqa: S105
    assert registered["client_id"] != reader.python["client_id"]


def test_the_node_section_logs_in_with_openid_client(reader: Reader) -> None:
    node = shutil.which("node")
    if not node or not (NODE_MODULES / "openid-client").exists():
        pytest.fail("node or openid-client is missing: run script/bootstrap")
    (block,) = of_role("node")
    folder = reader.folder / "node"
    folder.mkdir(exist_ok=True)
    (folder / "node_modules").symlink_to(NODE_MODULES)
    (folder / "guide.mjs").write_text(_placed(block.code, reader.issuer, reader.bank))
    shutil.copy(HERE / "guide_driver.mjs", folder / "guide_driver.mjs")
    shutil.copy(reader.folder / "client-key.json", folder / "client-key.json")
    done = subprocess.run(
        [node, "guide_driver.mjs"],
        env={**reader.env, "CLIENT_ID": reader.python["client_id"]},
        cwd=folder, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["token_type"].lower() == "dpop"
    assert result["claims"]["iss"] == reader.issuer
    assert reader.python["client_id"] in result["claims"]["aud"]
    assert result["userinfo"]["sub"] == result["claims"]["sub"]
