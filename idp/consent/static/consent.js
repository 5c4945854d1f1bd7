// The consent screen: when the ticked items need a fresh card signature (self-information: the
// user-authentication key; verified identity: both keys of the card at once, protocol version 2
// of docs/bridge-protocol.md §9), "Approve" runs the card step
// instead of posting the form: the IdP issues a challenge bound to exactly these items, the
// bridge has the card sign it (the PIN is typed in the bridge's own window), and the result is
// posted with the same items. The bridge calls are those of every card page (idp/web's
// bridge-client.js, docs/bridge-protocol.md "A login page, step by step"). Deny, and approvals
// the session covers, are plain form posts. No PIN, certificate or challenge is written to the
// console or kept.
"use strict";

(function () {
  const B = window.JpkiBridge;
  const main = document.getElementById("main");
  const form = document.getElementById("consent-form");
  const cardForm = document.getElementById("card-form");
  const approveButton = document.getElementById("approve-button");
  const denyButton = document.getElementById("deny-button");
  const bridge = main.dataset.bridge;
  const lang = main.dataset.lang;
  let running = false;

  function ticked() {
    return new FormData(form).getAll("item");
  }

  // The same rule as idp/consent/cardstep.py key_for.
  function keyFor(items) {
    if (main.dataset.identity === "1" || items.some((i) => i.startsWith("verified:"))) return "sign";
    if (items.some((i) => i.startsWith("selfinfo:"))) return "auth";
    return null;
  }

  function showNote() {
    const key = keyFor(ticked());
    document.getElementById("note-auth").hidden = key !== "auth";
    document.getElementById("note-sign").hidden = key !== "sign";
  }

  function busy(on) {
    running = on;
    approveButton.disabled = on;
    denyButton.disabled = on;
  }

  // Nothing answering is a bridge that is not running (or does not allow us): status 0.
  async function startAtBridge(issued) {
    const path = issued.key === "sign" ? "/v1/sign" : "/v1/authenticate";
    const payload = {challenge: issued.challenge, service: issued.service};
    // Verified identity: both keys sign in one card session, so the IdP can check the signing
    // certificate is on the card this person logged in with.
    if (issued.key === "sign") payload.version = 2;
    try {
      return await B.start(bridge, path, payload);
    } catch (e) {
      return {status: 0, body: null};
    }
  }

  // The card form carries the result and exactly the items the challenge was issued for.
  function submitWithItems(op, items) {
    for (const item of items) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = "item";
      input.value = item;
      cardForm.appendChild(input);
    }
    B.submitResult(cardForm, op);
  }

  function approveWithCard(items) {
    if (running) return;
    busy(true);
    let key = null;
    B.run({
      bridge: bridge, lang: lang, height: 680,
      // The request expired or the session changed (403): the page, reloaded, says which.
      begin: async (win) => {
        const body = new URLSearchParams();
        for (const item of items) body.append("item", item);
        const issued = await B.postToIdp(main.dataset.challengeUrl, main.dataset.csrf, body);
        if (issued.status === 403) {
          B.closeWindow(win);
          window.location.reload();
          return null;
        }
        if (issued.status !== 200 || !issued.body) throw new Error("challenge");
        key = issued.body.key;
        return startAtBridge(issued.body);
      },
      show: B.showState,
      idle: () => { busy(false); },
      refused: (started) => {
        if (started.status === 0) B.showState("bridge_missing");
        else if (B.outdated(started)) B.showState("bridge_outdated");
        else B.showState("failed", B.message(started.body, lang));
      },
      submit: (op) => submitWithItems(op, items),
      locked: (op) => {
        const url = main.dataset.refusedUrl.replace("REASON", "pin_locked");
        // In a two-key operation the bridge says which PIN is locked.
        window.location.assign(url + "/" + encodeURIComponent(op.pin || key));
      },
    });
  }

  form.addEventListener("submit", (event) => {
    const submitter = event.submitter;
    if (running) { event.preventDefault(); return; }
    if (!submitter || submitter.value !== "approve") return;  // deny: a plain post
    const items = ticked();
    if (keyFor(items) === null) return;  // the session covers it: a plain post
    event.preventDefault();
    approveWithCard(items);
  });
  form.addEventListener("change", showNote);
  showNote();
})();
