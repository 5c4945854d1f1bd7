"""Development and testing are for laptops and test suites: they drop production's checks, so they
refuse to start on anything production-shaped (a public https issuer, a PostgreSQL server on
another machine, real trust anchors), and production is what a configuration gets when it does
not name an environment. A production app logs people in with the card and nothing else."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from idp.config import ENV_VARIABLES, Config, ConfigError, DatabaseConfig, load_config
from idp.consent.decisions import CONSENT_SCREEN
from idp.jpki.certificate import fingerprint
from idp.jpki.settings import CertificateType, JpkiSettings
from idp.oidc.authenticator import AUTHENTICATOR
from idp.services import services
from tests.conftest import operator_config

NON_PRODUCTION = ["development", "testing"]


def _root_folder(folder, organization: str):
    """A folder holding one self-signed CA root whose subject says ``O=organization``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organization} Root"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    root = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    return folder, root


def _config(environment: str, **changes) -> Config:
    return dataclasses.replace(Config(environment=environment), **changes)


@pytest.mark.parametrize("environment", NON_PRODUCTION)
@pytest.mark.parametrize("issuer", ["https://idp.example.jp", "https://10.0.0.5:8443"])
def test_a_public_https_issuer_is_refused_outside_production(environment, issuer):
    with pytest.raises(ConfigError, match=f"{environment} refuses the https issuer"):
        _config(environment, issuer=issuer).check()


@pytest.mark.parametrize("environment", NON_PRODUCTION)
@pytest.mark.parametrize(
    "issuer",
    ["http://127.0.0.1:8000", "https://127.0.0.1:8443", "https://localhost", "https://[::1]"],
)
def test_a_loopback_issuer_is_fine_outside_production(environment, issuer):
    assert _config(environment, issuer=issuer).check().issuer == issuer


@pytest.mark.parametrize("environment", NON_PRODUCTION)
@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://idp:pw@db.internal/idp",
        "postgresql+psycopg://idp:pw@10.0.0.5:5432/idp",
        "postgresql+psycopg://idp@/idp?host=db.internal",
        "postgresql+psycopg://idp@127.0.0.1/idp?host=db.internal",
    ],
)
def test_a_postgresql_server_on_another_machine_is_refused_outside_production(environment, url):
    with pytest.raises(ConfigError, match="PostgreSQL server on another machine"):
        _config(environment, database=DatabaseConfig(url=url)).check()


@pytest.mark.parametrize("environment", NON_PRODUCTION)
@pytest.mark.parametrize(
    "url",
    [
        "",
        "sqlite:///idp.sqlite3",
        "postgresql+psycopg://u:p@127.0.0.1:5432/idp_test",
        "postgresql+psycopg://u:p@localhost/idp",
        "postgresql+psycopg://u@/idp",
        "postgresql+psycopg://u@/idp?host=/var/run/postgresql",
    ],
)
def test_a_local_database_is_fine_outside_production(environment, url):
    assert _config(environment, database=DatabaseConfig(url=url)).check()


@pytest.mark.parametrize("environment", NON_PRODUCTION)
def test_real_trust_anchors_are_refused_outside_production(environment, tmp_path):
    real, _ = _root_folder(tmp_path / "auth", "J-LIS")
    test, _ = _root_folder(tmp_path / "sign", "JPKI-TEST")
    anchors = {CertificateType.AUTH: real, CertificateType.SIGN: test}
    config = _config(environment, jpki=JpkiSettings(trust_anchors=anchors, allow_test_roots=True))
    with pytest.raises(ConfigError, match=r"trust_anchors\.auth .* not sandbox test roots"):
        config.check()
    only_test = {CertificateType.SIGN: test}
    jpki = JpkiSettings(trust_anchors=only_test, allow_test_roots=True)
    assert _config(environment, jpki=jpki).check()


def test_the_same_refusals_through_the_environment_variables(tmp_path):
    environ = {"IDP_ENV": "testing", "IDP_ISSUER": "https://idp.example.jp"}
    with pytest.raises(ConfigError, match='set environment = "production"'):
        load_config(environ)
    environ = {"IDP_ENV": "development", "IDP_DATABASE_URL": "postgresql+psycopg://i@db/idp"}
    with pytest.raises(ConfigError, match="PostgreSQL"):
        load_config(environ)


def test_a_production_shaped_file_without_environment_gets_production_checks(tmp_path):
    """The attack: a production-shaped deployment that leaves ``environment`` out. Before, it
    ran as development with every production check dropped; now it is production."""
    path = tmp_path / "idp.toml"
    path.write_text('issuer = "https://idp.example.jp"\n')
    environ = {"IDP_CONFIG": str(path), "IDP_DATABASE_URL": "sqlite:///x.sqlite3"}
    with pytest.raises(ConfigError, match="production needs IDP_SECRET_KEY"):
        load_config(environ)


def test_a_production_app_has_only_the_card_login_and_the_citizens_consent(tmp_path):
    from idp import create_app
    from idp.consent import ConsentScreen
    from idp.login.card import CardAuthenticator

    auth, root = _root_folder(tmp_path / "auth", "J-LIS")
    sign, _ = _root_folder(tmp_path / "sign", "J-LIS")
    root_pin = fingerprint(root)
    sign_pin = fingerprint(x509.load_pem_x509_certificate((sign / "root.pem").read_bytes()))
    config = Config(
        environment="production",
        issuer="https://idp.example.jp",
        secret_key="s" * 48,
        database=DatabaseConfig(url="postgresql+psycopg://idp@127.0.0.1/idp"),
        operator=operator_config(),
        jpki=JpkiSettings(
            trust_anchors={CertificateType.AUTH: auth, CertificateType.SIGN: sign},
            pinned_fingerprints=frozenset({root_pin, sign_pin}),
            crl_index_dir=tmp_path / "crl",
        ),
    )
    app = create_app(config, instance_path=str(tmp_path / "instance"))
    assert type(services(app)[AUTHENTICATOR]) is CardAuthenticator
    assert type(services(app)[CONSENT_SCREEN]) is ConsentScreen


def test_the_operators_guide_lists_every_variable_read():
    """operators.md §2's table names every ``IDP_*`` variable the IdP reads, and no other."""
    guide = Path(__file__).resolve().parents[2] / "docs" / "operators.md"
    section = guide.read_text(encoding="utf-8").split("\n## 2. ")[1].split("\n## ")[0]
    listed = set(re.findall(r"^\| `(IDP_[A-Z_]+)` \|", section, re.MULTILINE))
    assert listed == {"IDP_CONFIG", *ENV_VARIABLES}
