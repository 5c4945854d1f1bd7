"""idp/jpki: does a card signature prove a living, unrevoked JPKI card holder?

A library with no Flask, OAuth or storage imports. Entry points:

- ``validator.JpkiValidator``: ``validate`` a certificate for a purpose (``login`` → the
  authentication certificate, ``identity`` → the signing certificate), and
  ``verify_bridge_result`` for a login answer, ``verify_pair_result`` for an identity answer
  (both keys of one card, docs/bridge-protocol.md §9).
- ``challenge.Challenges``: one-time, origin-bound login challenges in the ephemeral store.
- ``document.verify_document_pair``: a bridge ``document`` signature (contract signing) with the
  same card's authentication proof, against the IdP's own origin and stored digest;
  ``document.fingerprint`` for the review page.
- ``ocsp.OcspService``, ``crl_updater.CrlUpdater`` / ``CrlRefresher``, ``crl.CrlStatusSource``,
  ``revocation.RevocationChecker``: revocation by the configured policy.
- ``status.StatusChange`` / ``StatusListener``: a certificate's new status at the CA;
  ``feed.FeedClient`` (a signed revocation feed), ``crl_diff`` (what a new CRL changed) and
  ``status_watch.StatusWatcher`` (polls both within ``status_interval``) produce them.
- ``settings.JpkiSettings``: the configuration ``idp.config`` embeds.
- ``errors``: the one exception family, each with a machine-readable ``reason``.
- ``cli.jpki``: the ``idp jpki`` click group (``check``, ``anchors``, ``crl-refresh``,
  ``status-poll``).
"""
