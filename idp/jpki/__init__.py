"""idp/jpki: does a card signature prove a living, unrevoked JPKI card holder?

A library with no Flask, OAuth or storage imports (issue 4). Entry points:

- ``validator.JpkiValidator``: ``validate`` a certificate for a purpose (``login`` → the
  authentication certificate, ``identity`` → the signing certificate), and
  ``verify_bridge_result`` for a bridge answer (docs/bridge-protocol.md).
- ``challenge.Challenges``: one-time, origin-bound login challenges in the ephemeral store.
- ``document.verify_document_result``: a bridge ``document`` signature (contract signing)
  against the IdP's own origin and stored digest; ``document.fingerprint`` for the review page.
- ``ocsp.OcspService``, ``crl_updater.CrlUpdater`` / ``CrlRefresher``, ``crl.CrlStatusSource``,
  ``revocation.RevocationChecker``: revocation by the configured policy.
- ``settings.JpkiSettings``: the configuration ``idp/config.py`` embeds.
- ``errors``: the one exception family, each with a machine-readable ``reason``.
- ``cli.jpki``: the ``idp jpki`` click group (``check``, ``anchors``).
"""
