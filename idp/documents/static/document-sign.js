// The document review page: find the bridge, ask the IdP for the digest to sign, have the bridge
// sign it with the signing key and, in the same card session, the authentication key (protocol
// version 2, docs/bridge-protocol.md §9), post the result to the IdP (the bridge calls are in
// idp/web's bridge-client.js). No PIN, certificate or signature is ever
// written to the console.
"use strict";

(function () {
  const B = window.JpkiBridge;
  const main = document.getElementById("main");
  const bridge = main.dataset.bridge;
  const lang = main.dataset.lang;
  const signButton = document.getElementById("sign-button");
  const form = document.getElementById("result-form");
  let running = false;

  // The shared part (sections, detail, announcement) plus this page's button and "Check again".
  function show(state, detail) {
    B.showState(state, detail);
    const busy = ["working", "verifying", "checking"].indexOf(state) >= 0;
    const stuck = ["bridge_missing", "card_problem", "bridge_outdated"].indexOf(state) >= 0;
    signButton.disabled = busy || stuck;
    document.getElementById("check-again-row").hidden = !stuck;
  }

  // Ready only with a bridge that signs with both keys (version 2) and a card that holds the
  // signing key.
  function onCard(card) {
    if (card === null) {
      show("bridge_missing");
      return false;
    }
    if (card.protocol < 2) {
      show("bridge_outdated");
      return false;
    }
    if (card.ready && (card.certificates || []).indexOf("sign") >= 0) {
      show("ready");
      return true;
    }
    show("card_problem", B.message(card, lang));
    return false;
  }

  const watcher = B.watch(bridge, () => running, onCard);
  const probe = watcher.check;

  // Asks the IdP for the digest (429: too many attempts for this document, nothing changed and
  // the page stays usable: the citizen can decline now, or sign once the IdP's window has
  // passed; any other refusal: signed, declined or expired meanwhile, or the session changed,
  // and the page, reloaded, says which), shows its check code and has the bridge sign it.
  async function begin(win) {
    const prepared = await B.postToIdp(main.dataset.prepareUrl, main.dataset.csrf);
    if (prepared.status === 429 && prepared.body && prepared.body.error === "rate_limited") {
      B.closeWindow(win);
      running = false;
      show("failed", main.dataset.rateLimited);
      return null;
    }
    if (prepared.status !== 200 || !prepared.body) {
      B.closeWindow(win);
      window.location.reload();
      return null;
    }
    const p = prepared.body;
    document.getElementById("check-code").textContent = p.fingerprint;
    return B.start(bridge, "/v1/sign", {
      version: 2, purpose: "document", digest: p.digest, title: p.title, summary: p.summary,
      service: p.service,
    });
  }

  function sign() {
    if (running) return;
    running = true;
    watcher.stop();
    B.run({
      bridge: bridge, lang: lang, height: 720, show: show, begin: begin,
      idle: () => { running = false; },
      refused: (started) => {
        if (B.outdated(started)) show("bridge_outdated");
        else show("failed", B.message(started.body, lang));
      },
      submit: (op) => B.submitResult(form, op),
      // The bridge names the locked PIN: the 4-digit one ("auth") or the signing password.
      locked: (op) => {
        window.location.assign(main.dataset.lockedUrl + (op.pin === "auth" ? "?pin=auth" : ""));
      },
    });
  }

  signButton.addEventListener("click", sign);
  document.getElementById("check-again").addEventListener("click", () => { show("checking"); probe(); });
  probe();
})();
