// The consent screen: when the ticked items need a fresh card signature (self-information: the
// user-authentication key; verified identity: the signing key), "Approve" runs the card step
// instead of posting the form: the IdP issues a challenge bound to exactly these items, the
// bridge has the card sign it (the PIN is typed in the bridge's own window), and the result is
// posted with the same items. The bridge calls are those of the login page (card-login.js,
// docs/bridge-protocol.md "A login page, step by step"). Deny, and approvals the session covers,
// are plain form posts. No PIN, certificate or challenge is written to the console or kept.
"use strict";

(function () {
  const main = document.getElementById("main");
  const form = document.getElementById("consent-form");
  const cardForm = document.getElementById("card-form");
  const announce = document.getElementById("announce");
  const approveButton = document.getElementById("approve-button");
  const denyButton = document.getElementById("deny-button");
  const bridge = main.dataset.bridge;
  const lang = main.dataset.lang;
  let running = false;
  let operation = null;  // the bridge operation under way, for "Cancel the card step"

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

  function show(state, detail) {
    for (const section of document.querySelectorAll("[data-state]")) {
      section.hidden = section.id !== "state-" + state;
    }
    if (state === "failed") document.getElementById("failed-detail").textContent = detail || "";
    const heading = document.getElementById("h-" + state);
    if (heading) announce.textContent = heading.textContent + (detail ? " " + detail : "");
  }

  function busy(on) {
    running = on;
    approveButton.disabled = on;
    denyButton.disabled = on;
  }

  function message(body) {
    if (body && body.message && typeof body.message === "object") {
      return body.message[lang] || body.message.ja || "";
    }
    return "";
  }

  async function json(url, options) {
    const response = await fetch(url, options);
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return {status: response.status, body: body};
  }

  async function startAtBridge(issued) {
    const path = issued.key === "sign" ? "/v1/sign" : "/v1/authenticate";
    try {
      return await json(bridge + path, {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({challenge: issued.challenge, service: issued.service}),
      });
    } catch (e) {
      return null;  // nothing answered: the bridge is not running (or does not allow us)
    }
  }

  async function approveWithCard(items) {
    if (running) return;
    busy(true);
    // The bridge's window is opened on the click itself, so no popup blocker stops it.
    const win = window.open("about:blank", "jpki-bridge", "width=520,height=680");
    const close = () => { if (win && !win.closed) win.close(); };
    document.getElementById("pin-window-link").hidden = true;
    try {
      const body = new URLSearchParams();
      for (const item of items) body.append("item", item);
      const issued = await json(main.dataset.challengeUrl, {
        method: "POST",
        headers: {"X-CSRF-Token": main.dataset.csrf},
        body: body,
        credentials: "same-origin",
      });
      if (issued.status === 403) {
        // The request expired or the session changed: the page, reloaded, says which.
        close();
        window.location.reload();
        return;
      }
      if (issued.status !== 200 || !issued.body) throw new Error("challenge");
      const started = await startAtBridge(issued.body);
      if (started === null) {
        close();
        busy(false);
        show("bridge_missing");
        return;
      }
      let op = started.body;
      if (started.status !== 202 || !op || !op.id) {
        close();
        busy(false);
        show("failed", message(op));
        return;
      }
      operation = op.id;
      if (op.pin_url && win) win.location = op.pin_url;
      else close();
      show("working");
      if (op.pin_url && !win) {
        // A popup blocker stopped the window: offer the bridge's PIN page as a link instead.
        const link = document.getElementById("pin-window-link");
        link.querySelector("a").href = op.pin_url;
        link.hidden = false;
      }
      while (op.status !== "done" && op.status !== "failed") {
        const url = bridge + "/v1/operations/" + encodeURIComponent(op.id) +
                    "?wait=20&state=" + encodeURIComponent(op.status);
        const polled = await json(url, {cache: "no-store"});
        if (polled.status !== 200 || !polled.body) throw new Error("poll");
        op = polled.body;
      }
      close();
      operation = null;
      if (op.status === "done") {
        show("verifying");
        cardForm.elements.result.value = JSON.stringify(op.result);
        for (const item of items) {
          const input = document.createElement("input");
          input.type = "hidden";
          input.name = "item";
          input.value = item;
          cardForm.appendChild(input);
        }
        cardForm.submit();
        return;
      }
      if (op.error === "pin_locked") {
        const url = main.dataset.refusedUrl.replace("REASON", "pin_locked");
        window.location.assign(url + "/" + encodeURIComponent(issued.body.key));
        return;
      }
      busy(false);
      show("failed", message(op));
    } catch (e) {
      close();
      operation = null;
      busy(false);
      show("failed", "");
    }
  }

  // The bridge ends the operation as "cancelled"; the polling above then shows it as failed.
  async function cancelCardStep() {
    if (!operation) return;
    try {
      await fetch(bridge + "/v1/operations/" + encodeURIComponent(operation), {method: "DELETE"});
    } catch (e) {
      // The bridge is gone: the polling fails and says so.
    }
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
  document.getElementById("cancel-card-step").addEventListener("click", cancelCardStep);
  showNote();
})();
