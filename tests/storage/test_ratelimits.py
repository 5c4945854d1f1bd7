"""The rate-limit mechanism (``idp.storage.ratelimits``) and its ``[limits]`` settings: counted
in the ephemeral store under its prefix, a window from the first count, ``Retry-After`` from the
store's clock, and a refused setting named with its reason."""

from __future__ import annotations

import dataclasses
import secrets

import pytest
import redis

from idp.config import ConfigError, LimitsConfig, load_config
from idp.storage.ephemeral import MemoryStore, RedisStore
from idp.storage.ratelimits import Limited, RateLimits
from tests.storage.test_ephemeral import FakeClock

DEVELOPMENT = 'environment = "development"\n'
SMALL = LimitsConfig(par_per_client="3 per minute", failed_logins_per_ip="2 per 15 minutes")


def test_hits_up_to_the_limit_pass_then_the_window_refuses_until_it_ends():
    clock = FakeClock()
    store = MemoryStore(clock)
    limits = RateLimits(SMALL, lambda: store)
    for _ in range(3):
        limits.hit("par_per_client", "bank")
    with pytest.raises(Limited) as refused:
        limits.hit("par_per_client", "bank")
    assert (refused.value.limit, refused.value.retry_after) == ("par_per_client", 60)
    clock.now += 59.2
    with pytest.raises(Limited) as refused:
        limits.hit("par_per_client", "bank")  # refused hits do not move the window's end
    assert refused.value.retry_after == 1
    limits.hit("par_per_client", "another bank")  # each identifier has its own window
    clock.now += 0.8
    limits.hit("par_per_client", "bank")


def test_check_counts_nothing_and_count_refuses_nothing():
    clock = FakeClock()
    store = MemoryStore(clock)
    limits = RateLimits(SMALL, lambda: store)
    for _ in range(5):
        limits.check(("failed_logins_per_ip", "192.0.2.1"))
    limits.count("failed_logins_per_ip", "192.0.2.1")
    limits.check(("failed_logins_per_ip", "192.0.2.1"))
    limits.count("failed_logins_per_ip", "192.0.2.1")
    limits.count("failed_logins_per_ip", "192.0.2.1")  # over: counted, not refused
    with pytest.raises(Limited) as refused:
        limits.check(("par_per_client", "bank"), ("failed_logins_per_ip", "192.0.2.1"))
    assert (refused.value.limit, refused.value.retry_after) == ("failed_logins_per_ip", 900)
    clock.now += 900
    limits.check(("failed_logins_per_ip", "192.0.2.1"))


def test_counters_live_in_the_store_under_its_prefix_with_the_window_as_ttl(redis_url):
    prefix = f"test-limits-{secrets.token_hex(6)}:"
    client = redis.Redis.from_url(redis_url)
    limits = RateLimits(SMALL, lambda: RedisStore(client, prefix))
    try:
        limits.hit("par_per_client", "bank")
        limits.hit("par_per_client", "bank")
        [key] = client.keys(prefix + "*")
        assert key.decode() == prefix + limits.key("par_per_client", "bank")
        assert key.decode() == prefix + "limit/par_per_client/bank/3/1/minute"
        assert client.get(key) == b"2"
        assert 59_000 < client.pttl(key) <= 60_000
    finally:
        for key in client.scan_iter(prefix + "*"):
            client.delete(key)


def test_a_failing_store_raises_and_lets_nothing_through(redis_url):
    """Fail closed: a counter Redis cannot count (here: not a number) refuses the request with
    the store's error, not a pass."""
    prefix = f"test-limits-{secrets.token_hex(6)}:"
    client = redis.Redis.from_url(redis_url)
    limits = RateLimits(SMALL, lambda: RedisStore(client, prefix))
    client.set(prefix + limits.key("par_per_client", "bank"), b"x", ex=60)
    try:
        with pytest.raises(redis.ResponseError):
            limits.hit("par_per_client", "bank")
    finally:
        client.delete(prefix + limits.key("par_per_client", "bank"))


def test_the_defaults_parse_and_name_every_limit():
    limits = RateLimits(LimitsConfig(), MemoryStore)
    for field in dataclasses.fields(LimitsConfig):
        assert limits.key(field.name, "x").startswith(f"limit/{field.name}/x/")


def test_the_limits_table_is_read_from_the_file(tmp_path):
    path = tmp_path / "idp.toml"
    path.write_text(f'{DEVELOPMENT}[limits]\npar_per_client = "10 per 2 seconds"\n')
    config = load_config({"IDP_CONFIG": str(path)})
    assert config.limits.par_per_client == "10 per 2 seconds"
    assert config.limits.token_per_client == LimitsConfig.token_per_client


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('"often"', "not a rate"),
        ('"0 per minute"', "at least 1"),
        ('"10 per 0 minutes"', "at least 1"),
        ('"10 per minute; 100 per hour"', "one rate per setting"),
        ('"10 per fortnight"', "not a rate"),
        ("10", "not a rate"),
    ],
)
def test_a_bad_limit_is_refused_with_the_setting_named(tmp_path, value, reason):
    path = tmp_path / "idp.toml"
    path.write_text(f"{DEVELOPMENT}[limits]\nfailed_logins_per_ip = {value}\n")
    with pytest.raises(ConfigError, match=f"limits.failed_logins_per_ip.*{reason}"):
        load_config({"IDP_CONFIG": str(path)})


def test_an_unknown_limit_is_refused(tmp_path):
    path = tmp_path / "idp.toml"
    path.write_text(f'{DEVELOPMENT}[limits]\nlogins_per_day = "5 per day"\n')
    with pytest.raises(ConfigError, match=r"unknown setting limits\.logins_per_day"):
        load_config({"IDP_CONFIG": str(path)})
