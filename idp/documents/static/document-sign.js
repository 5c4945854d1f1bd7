// The document review page: find the bridge, ask the IdP for the digest to sign, have the bridge
// sign it with the signing key, post the result to the IdP (docs/bridge-protocol.md §8).
// No PIN, certificate or signature is ever written to the console.
"use strict";

(function () {
  const main = document.getElementById("main");
  const bridge = main.dataset.bridge;
  const lang = main.dataset.lang;
  const announce = document.getElementById("announce");
  const signButton = document.getElementById("sign-button");
  const form = document.getElementById("result-form");
  let recheck = null;
  let running = false;

  function show(state, detail) {
    for (const section of document.querySelectorAll("[data-state]")) {
      section.hidden = section.id !== "state-" + state;
    }
    const busy = ["working", "verifying", "checking"].indexOf(state) >= 0;
    signButton.disabled = busy || state === "bridge_missing" || state === "card_problem";
    document.getElementById("check-again-row").hidden = !(state === "bridge_missing" || state === "card_problem");
    if (detail !== undefined) {
      const target = document.getElementById(state === "failed" ? "failed-detail" : "card-problem-detail");
      if (target) target.textContent = detail;
    }
    const heading = document.getElementById("h-" + state);
    if (heading) announce.textContent = heading.textContent + (detail ? " " + detail : "");
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

  async function probe() {
    if (running) return;
    clearTimeout(recheck);
    let status;
    try {
      const response = await fetch(bridge + "/v1/status", {cache: "no-store"});
      if (!response.ok) throw new Error("status " + response.status);
      status = await response.json();
    } catch (e) {
      show("bridge_missing");
      recheck = setTimeout(probe, 5000);
      return;
    }
    const card = status.card || {};
    if (card.ready && (card.certificates || []).indexOf("sign") >= 0) {
      show("ready");
      return;
    }
    show("card_problem", message(card));
    recheck = setTimeout(probe, 5000);
  }

  async function sign() {
    if (running) return;
    running = true;
    clearTimeout(recheck);
    document.getElementById("pin-window-link").hidden = true;
    // The bridge's window is opened on the click itself, so no popup blocker stops it.
    const win = window.open("about:blank", "jpki-bridge", "width=520,height=720");
    try {
      const prepared = await json(main.dataset.prepareUrl, {
        method: "POST",
        headers: {"X-CSRF-Token": main.dataset.csrf},
        credentials: "same-origin",
      });
      if (prepared.status !== 200 || !prepared.body) {
        // Signed, declined or expired meanwhile, or the session changed: the page says which.
        if (win) win.close();
        window.location.reload();
        return;
      }
      const p = prepared.body;
      document.getElementById("check-code").textContent = p.fingerprint;
      const started = await json(bridge + "/v1/sign", {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({purpose: "document", digest: p.digest, title: p.title,
                              summary: p.summary, service: p.service}),
      });
      let op = started.body;
      if (started.status !== 202 || !op || !op.id) {
        if (win) win.close();
        running = false;
        show("failed", message(op));
        return;
      }
      if (op.pin_url && win) win.location = op.pin_url;
      else if (win) win.close();
      show("working");
      if (op.pin_url && !win) {
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
      if (win && !win.closed) win.close();
      if (op.status === "done") {
        show("verifying");
        form.elements.result.value = JSON.stringify(op.result);
        form.submit();
        return;
      }
      if (op.error === "pin_locked") {
        window.location.assign(main.dataset.lockedUrl);
        return;
      }
      running = false;
      show("failed", message(op));
    } catch (e) {
      if (win && !win.closed) win.close();
      running = false;
      show("failed", "");
    }
  }

  signButton.addEventListener("click", sign);
  document.getElementById("check-again").addEventListener("click", () => { show("checking"); probe(); });
  probe();
})();
