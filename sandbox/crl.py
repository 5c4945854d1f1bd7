"""Full and delta CRLs as a J-LIS-like CA publishes them (RFC 5280 §5).

- :func:`make_crl` (:mod:`sandbox.crl_build`) is the test-time factory (docs/contributing.md §7):
  any entries, number, times and signer, a delta indicator, so a test can make a forged, expired,
  wrong-issuer or older CRL; :func:`reissue` copies a real one with one thing changed.
- :func:`publish` (:mod:`sandbox.crl_publish`) builds the CA's CRLs from its registry and writes
  them to the state directory; the HTTP service (:mod:`sandbox.revocation_app`) serves what it
  returns.
- :func:`write_large_crl` (in :mod:`sandbox.large_crl`) streams a signed CRL of millions of
  entries for the benchmarks.

What the published CRLs hold (RFC 5280 §5.2, §5.3):

- The **full CRL** lists every unexpired revoked or held certificate ("expired certificates are
  dropped from the CRL", docs/jpki.md §3) with its revocation date and reason code (none for
  ``unspecified``, §5.3.1), a CRL number, the authority key identifier, an issuing distribution
  point naming the URL the certificates' CRL distribution point names (critical, §5.2.5), and a
  Freshest CRL pointer to the delta (§5.2.6).
- The **delta CRL** (§5.2.4) carries the delta CRL indicator with the number of its **base**, the
  same issuing distribution point, and what changed since the base: new or changed entries, and
  ``removeFromCRL`` for a serial the base listed that has since been released from hold (or has
  expired), dated as the base dated it.
- Full and delta share one numbering sequence (§5.2.3), kept in ``STATE/ca/KIND/crlnumber`` (hex,
  as openssl's ``crlnumber`` file). The base is the full CRL of the day: a new one every
  :data:`BASE_INTERVAL`, or on :func:`publish` with ``new_base=True``.

Files: ``STATE/crl/{auth,sign}.crl`` and ``{auth,sign}-delta.crl`` (DER), ``STATE/crl/KIND.json``
(numbers and times of the files, and the digest of the registry they were built from), and
``STATE/ca/KIND/crl-base.json`` (the base's number, time and entries). :func:`publish` rebuilds only
when the registry changed or the files are half-way to their nextUpdate, so every process sharing
the state directory sees a ``jpki-sandbox revoke`` on its next request; the HTTP service also
publishes again every :data:`DELTA_INTERVAL` (15 s; ``jpki-sandbox serve --delta-interval``), a
CA's short delta publication cycle, so a poller's delta is never older than that.
"""

from sandbox.crl_build import (
    FULL_VALIDITY,
    CrlEntry,
    issuing_distribution_point,
    make_crl,
    reissue,
)
from sandbox.crl_publish import (
    BASE_INTERVAL,
    DELTA_INTERVAL,
    DELTA_VALIDITY,
    Published,
    crl_dir,
    crl_path,
    delta_entries,
    next_crl_number,
    publish,
    registry_entries,
)
from sandbox.large_crl import LargeCrl, synthetic_serial, write_large_crl

__all__ = [
    "BASE_INTERVAL",
    "DELTA_INTERVAL",
    "DELTA_VALIDITY",
    "FULL_VALIDITY",
    "CrlEntry",
    "LargeCrl",
    "Published",
    "crl_dir",
    "crl_path",
    "delta_entries",
    "issuing_distribution_point",
    "make_crl",
    "next_crl_number",
    "publish",
    "registry_entries",
    "reissue",
    "synthetic_serial",
    "write_large_crl",
]
