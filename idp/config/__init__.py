"""The IdP's one configuration: typed, documented, checked before anything starts.

Read from a TOML file named by ``IDP_CONFIG`` (sections are the blocks below) and then from
``IDP_*`` environment variables, which win. ``check()`` refuses, with a sentence that says why,
anything that would make the IdP unsafe or silently wrong: dev settings in production, a
production-shaped deployment outside production, several processes without Redis. No setting
logs anyone in without a card (tests plug that into the app object, ``tests/cardless.py``).
Nothing else in ``idp/`` reads ``os.environ``. See docs/contributing.md §5.

The package's parts: ``settings`` (the blocks, their defaults, and reading them from the file
and the environment), ``problems`` (what ``Config.check`` refuses) and ``bounds`` (production's
limits).
"""

from .bounds import PRODUCTION_BOUNDS, Bound
from .problems import is_loopback
from .settings import (
    ENV_VARIABLES,
    FAPI_ALGORITHMS,
    JPKI_PER_TYPE,
    SIGNING_ALGORITHMS,
    AdminConfig,
    ClientUrlsConfig,
    Config,
    ConfigError,
    DatabaseConfig,
    DocumentsConfig,
    DPoPConfig,
    Environment,
    EphemeralConfig,
    KeysConfig,
    LimitsConfig,
    LoginConfig,
    MetricsConfig,
    OperatorConfig,
    ProxyConfig,
    TimeoutsConfig,
    TokensConfig,
    from_mapping,
    load_config,
    parse_rate_limit,
)

__all__ = [
    "ENV_VARIABLES",
    "FAPI_ALGORITHMS",
    "JPKI_PER_TYPE",
    "PRODUCTION_BOUNDS",
    "SIGNING_ALGORITHMS",
    "AdminConfig",
    "Bound",
    "ClientUrlsConfig",
    "Config",
    "ConfigError",
    "DPoPConfig",
    "DatabaseConfig",
    "DocumentsConfig",
    "Environment",
    "EphemeralConfig",
    "KeysConfig",
    "LimitsConfig",
    "LoginConfig",
    "MetricsConfig",
    "OperatorConfig",
    "ProxyConfig",
    "TimeoutsConfig",
    "TokensConfig",
    "from_mapping",
    "is_loopback",
    "load_config",
    "parse_rate_limit",
]
