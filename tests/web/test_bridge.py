"""The bridge URL: loopback http only, since the bridge listens nowhere else."""

from __future__ import annotations

import pytest

from idp.config import Config, ConfigError, LoginConfig, load_config
from idp.web.bridge import DEFAULT_BRIDGE_URL, BridgeSettings


def _with_bridge(url: str) -> Config:
    return Config(login=LoginConfig(bridge_url=url))


def test_the_default_is_the_bridge_default_port():
    settings = BridgeSettings.from_config(Config())
    assert settings.bridge_url == DEFAULT_BRIDGE_URL
    assert settings.bridge_origin == "http://127.0.0.1:8003"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000", "http://localhost:9000/"])
def test_loopback_urls_are_accepted(url):
    assert BridgeSettings.from_config(_with_bridge(url)).bridge_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:8003",
        "http://bridge.example:8003",
        "http://10.0.0.1:8003",
        "http://127.0.0.1:8003/v1",
        "http://127.0.0.1:8003?x=1",
        "javascript:alert(1)",
    ],
)
def test_anything_else_stops_start_up(url):
    with pytest.raises(ConfigError, match="bridge_url"):
        BridgeSettings.from_config(_with_bridge(url))


def test_the_bridge_url_is_read_from_the_configuration_file(tmp_path):
    path = tmp_path / "idp.toml"
    path.write_text('environment = "development"\n[login]\nbridge_url = "http://127.0.0.1:9123"\n')
    config = load_config({"IDP_CONFIG": str(path)})
    assert BridgeSettings.from_config(config).bridge_origin == "http://127.0.0.1:9123"
