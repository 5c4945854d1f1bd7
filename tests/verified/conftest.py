"""The verified-claims suites reuse the OIDC suites' provider and relying-party fixtures."""

from tests.oidc.conftest import any_database_url, database_url, jwt_rp, make_rp, provider, rp  # noqa: F401
