// The card login page: find the bridge, run its login operation, post the result to the IdP.
// docs/bridge-protocol.md, "A login page, step by step". No PIN, certificate or challenge is
// ever written to the console or kept after the form is posted.
"use strict";

(function () {
  const main = document.getElementById("main");
  const bridge = main.dataset.bridge;
  const lang = main.dataset.lang;
  const announce = document.getElementById("announce");
  const checkAgain = document.getElementById("check-again");
  const form = document.getElementById("result-form");
  const STATES = ["no_reader", "no_card", "not_jpki_card", "pcsc_unavailable", "busy"];
  let recheck = null;
  let running = false;

  function show(state, detail) {
    for (const section of document.querySelectorAll("[data-state]")) {
      section.hidden = section.id !== "state-" + state;
    }
    const idle = ["ready", "working", "verifying", "checking"].indexOf(state) < 0;
    document.getElementById("check-again-row").hidden = !idle || state === "failed";
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
    if (card.ready) {
      show("ready");
      return;
    }
    const reason = STATES.indexOf(card.error) >= 0 ? card.error : "card_problem";
    show(reason, reason === "card_problem" ? message(card) : undefined);
    recheck = setTimeout(probe, 5000);
  }

  async function json(url, options) {
    const response = await fetch(url, options);
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return {status: response.status, body: body};
  }

  async function login() {
    if (running) return;
    running = true;
    clearTimeout(recheck);
    document.getElementById("pin-window-link").hidden = true;
    // The bridge's window is opened on the click itself, so no popup blocker stops it.
    const win = window.open("about:blank", "jpki-bridge", "width=520,height=680");
    try {
      const issued = await json(main.dataset.challengeUrl, {
        method: "POST",
        headers: {"X-CSRF-Token": main.dataset.csrf},
        credentials: "same-origin",
      });
      if (issued.status === 403) {
        // The login expired or the session changed: the page, reloaded, says which.
        if (win) win.close();
        window.location.reload();
        return;
      }
      if (issued.status !== 200 || !issued.body) throw new Error("challenge");
      const started = await json(bridge + "/v1/authenticate", {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({challenge: issued.body.challenge, service: main.dataset.service}),
      });
      let op = started.body;
      if (started.status !== 202 || !op || !op.id) {
        if (win) win.close();
        running = false;
        show(op && op.error === "busy" ? "busy" : "failed", message(op));
        return;
      }
      if (op.pin_url && win) win.location = op.pin_url;
      else if (win) win.close();
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
      if (win && !win.closed) win.close();
      if (op.status === "done") {
        show("verifying");
        form.elements.result.value = JSON.stringify(op.result);
        form.submit();
        return;
      }
      if (op.error === "pin_locked") {
        window.location.assign(main.dataset.refusedUrl.replace("REASON", "pin_locked"));
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

  document.getElementById("login-button").addEventListener("click", login);
  document.getElementById("retry-button").addEventListener("click", () => { show("checking"); probe(); });
  checkAgain.addEventListener("click", () => { show("checking"); probe(); });
  probe();
})();
