// The bridge calls the card pages share (card-login.js, consent.js, document-sign.js), as
// docs/bridge-protocol.md "A login page, step by step" describes them: probe the bridge, open its
// window on the click, start an operation, show its PIN page, long-poll it to its end. Each page
// keeps what is its own: which states it shows and what it posts back to the IdP. Nothing here
// writes a PIN, certificate, challenge or signature to the console or keeps it.
"use strict";

window.JpkiBridge = (function () {
  // The popup's name: a second attempt reuses the same window instead of opening another.
  const WINDOW_NAME = "jpki-bridge";
  // The operation this tab is waiting for, kept in sessionStorage (this tab only) while it runs,
  // so that the page loaded next in this tab (a reload, a back and forward) can tell the bridge
  // the previous page is gone; see abandonLeftOver.
  const RUNNING = "jpki-bridge-operation";
  let running = null;

  // fetch and parse: the caller decides from the status; a body that is not JSON is null.
  async function json(url, options) {
    const response = await fetch(url, options);
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return {status: response.status, body: body};
  }

  // POST to the page's own IdP endpoint (challenge, prepare) with its CSRF token; body optional.
  function postToIdp(url, csrf, body) {
    const options = {method: "POST", headers: {"X-CSRF-Token": csrf}, credentials: "same-origin"};
    if (body !== undefined) options.body = body;
    return json(url, options);
  }

  // Shows the page's section for one state (the [data-state] sections, id "state-<state>"),
  // puts a detail, when given, in the failure or card-problem text, and announces the state's
  // heading (with the detail) in the #announce live region for screen readers.
  function showState(state, detail) {
    for (const section of document.querySelectorAll("[data-state]")) {
      section.hidden = section.id !== "state-" + state;
    }
    if (detail !== undefined) {
      const id = state === "failed" ? "failed-detail" : "card-problem-detail";
      const target = document.getElementById(id);
      if (target) target.textContent = detail;
    }
    const heading = document.getElementById("h-" + state);
    if (heading) {
      document.getElementById("announce").textContent =
        heading.textContent + (detail ? " " + detail : "");
    }
  }

  // The bridge localises its own messages ({"ja": ..., "en": ...}); Japanese is the fallback.
  function message(body, lang) {
    if (body && body.message && typeof body.message === "object") {
      return body.message[lang] || body.message.ja || "";
    }
    return "";
  }

  // GET /v1/status: the card part of the answer with the bridge's protocol version beside it
  // ("protocol"), or null when the bridge does not answer (not running, or not allowing this
  // origin).
  async function card(bridge) {
    let status;
    try {
      const response = await fetch(bridge + "/v1/status", {cache: "no-store"});
      if (!response.ok) throw new Error("status " + response.status);
      status = await response.json();
    } catch (e) {
      return null;
    }
    return Object.assign({}, status.card || {}, {protocol: status.protocol || 1});
  }

  // The bridge refused the protocol version the page asked for (docs/bridge-protocol.md §7): an
  // old bridge that cannot sign with both keys at once (§9) must be updated.
  function outdated(started) {
    return started.status === 400 && started.body && started.body.field === "version";
  }

  // Probes the bridge now and again every five seconds until the page is ready: onCard gets
  // card()'s answer (null: no bridge) and returns true when the page can go on. No probe runs
  // while isRunning() says an operation is under way; stop() ends the waiting when one starts.
  function watch(bridge, isRunning, onCard) {
    let timer = null;
    async function check() {
      if (isRunning()) return;
      clearTimeout(timer);
      if (!onCard(await card(bridge))) timer = setTimeout(check, 5000);
    }
    return {check: check, stop: () => clearTimeout(timer)};
  }

  // Must run on the click itself, before any await, so that no popup blocker stops the window;
  // it also hides the fallback link a blocked earlier attempt may have shown. Null when blocked.
  function openWindow(height) {
    document.getElementById("pin-window-link").hidden = true;
    return window.open("about:blank", WINDOW_NAME, "width=520,height=" + height);
  }

  function closeWindow(win) {
    if (win && !win.closed) win.close();
  }

  // POST /v1/authenticate or /v1/sign; rejects when nothing answers. The page's language
  // (<html lang>) goes along as "lang", so the bridge's window speaks what the person chose here;
  // a bridge older than that member refuses it by name and is asked again without it.
  async function start(bridge, path, payload) {
    const post = (body) => json(bridge + path, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body),
    });
    const lang = document.documentElement.lang;
    if (lang !== "ja" && lang !== "en") return post(payload);
    const started = await post(Object.assign({}, payload, {lang: lang}));
    const old = started.status === 400 && started.body && started.body.field === "lang";
    return old ? post(payload) : started;
  }

  // The PIN is typed only on the bridge's own page: point the window there, or, when a popup
  // blocker stopped the window, offer that page as a link instead.
  function showPinPage(op, win) {
    if (op.pin_url && win) win.location = op.pin_url;
    else closeWindow(win);
    if (op.pin_url && !win) {
      const link = document.getElementById("pin-window-link");
      link.querySelector("a").href = op.pin_url;
      link.hidden = false;
    }
  }

  // Long-polls the operation until it is "done" or "failed" and returns it as it ended;
  // rejects when the bridge stops answering.
  async function poll(bridge, op) {
    while (op.status !== "done" && op.status !== "failed") {
      const url = bridge + "/v1/operations/" + encodeURIComponent(op.id) +
                  "?wait=20&state=" + encodeURIComponent(op.status);
      const polled = await json(url, {cache: "no-store"});
      if (polled.status !== 200 || !polled.body) throw new Error("poll");
      op = polled.body;
    }
    return op;
  }

  // Tells the bridge the page that started an operation is gone (DELETE ?abandoned=1): its
  // window takes no PIN any more and a signature it made is dropped, not reported as done
  // (docs/bridge-protocol.md). keepalive lets the request outlive a page being unloaded.
  function abandon(pending, keepalive) {
    const url = pending.bridge + "/v1/operations/" + encodeURIComponent(pending.id) + "?abandoned=1";
    return fetch(url, {method: "DELETE", keepalive: keepalive}).catch(() => null);
  }

  function remember(bridge, op) {
    running = {bridge: bridge, id: op.id};
    try { sessionStorage.setItem(RUNNING, JSON.stringify(running)); } catch (e) { /* private mode */ }
  }

  function forget() {
    running = null;
    try { sessionStorage.removeItem(RUNNING); } catch (e) { /* private mode */ }
  }

  // On load: an operation the previous page in this tab started and never saw to its end (the
  // page was reloaded mid-operation) is abandoned, so the window it left takes no PIN for it.
  function abandonLeftOver() {
    let pending = null;
    try { pending = JSON.parse(sessionStorage.getItem(RUNNING)); } catch (e) { pending = null; }
    if (pending && typeof pending.bridge === "string" && typeof pending.id === "string") {
      forget();
      abandon(pending, false);
    }
  }

  abandonLeftOver();
  // Leaving the page mid-operation (reload, close, another address) abandons it at once.
  window.addEventListener("pagehide", () => { if (running) abandon(running, true); });

  // An operation the bridge accepted (202), from the PIN page to its end; the window is closed
  // once it ended. Closing the bridge's window, or the page's "Cancel the card step" button,
  // cancels the operation at once (DELETE), so the page is usable again without waiting for the
  // bridge's PIN timeout; the operation then ends "failed" with "cancelled_by" set to
  // "window_closed" or "cancelled". Once the PIN is typed the bridge refuses the cancel and the
  // operation ends as it would have. Rejects when the bridge stops answering.
  async function follow(bridge, op, win) {
    remember(bridge, op);
    showPinPage(op, win);
    let cancelledBy = null;
    const cancel = (why) => {
      if (cancelledBy !== null) return;
      cancelledBy = why;
      const url = bridge + "/v1/operations/" + encodeURIComponent(op.id);
      fetch(url, {method: "DELETE"}).catch(() => null);
    };
    const button = document.getElementById("cancel-card-step");
    const onCancel = () => cancel("cancelled");
    if (button) button.addEventListener("click", onCancel);
    const watcher = setInterval(() => { if (win && win.closed) cancel("window_closed"); }, 500);
    try {
      const ended = await poll(bridge, op);
      if (cancelledBy !== null && ended.status === "failed" && ended.error === "cancelled") {
        ended.cancelled_by = cancelledBy;
      }
      return ended;
    } finally {
      forget();
      clearInterval(watcher);
      if (button) button.removeEventListener("click", onCancel);
      closeWindow(win);
    }
  }

  // What the page says of a card step cancelled from the page or by closing the window (the
  // texts are on the page's cancel button, in the page's language).
  function cancelledText(op) {
    const button = document.getElementById("cancel-card-step");
    if (!button) return "";
    return op.cancelled_by === "window_closed" ? button.dataset.windowClosed : button.dataset.cancelled;
  }

  // The bridge's answer to start(): the operation when it accepted it, else null.
  function accepted(started) {
    const op = started.body;
    return started.status === 202 && op && op.id ? op : null;
  }

  // Posts the finished operation's result to the IdP through the page's hidden form.
  function submitResult(form, op) {
    form.elements.result.value = JSON.stringify(op.result);
    form.submit();
  }

  // One card operation from the click to its end, as every card page runs it. The bridge's
  // window opens on the click itself; then page.begin(win) asks the IdP and starts the bridge's
  // operation, resolving to start()'s answer, or to null when it dealt with the IdP's answer
  // itself (reload, rate limit). Not accepted: page.refused(started). Accepted: "working" while
  // the PIN page is up, then "verifying" and page.submit(op) when it is done, page.locked(op)
  // for a locked PIN, else the failure shown. page.idle() runs whenever the page can be used
  // again; nothing answering is a failure too. A card step cancelled from the page or by
  // closing the bridge's window is a failure that says so, with the page usable again at once.
  async function run(page) {
    const win = openWindow(page.height);
    try {
      const started = await page.begin(win);
      if (started === null) return;
      if (!accepted(started)) {
        closeWindow(win);
        page.idle();
        page.refused(started);
        return;
      }
      page.show("working");
      const op = await follow(page.bridge, started.body, win);
      if (op.status === "done") {
        page.show("verifying");
        page.submit(op);
        return;
      }
      if (op.error === "pin_locked") {
        page.locked(op);
        return;
      }
      page.idle();
      page.show("failed", op.cancelled_by ? cancelledText(op) : message(op, page.lang));
    } catch (e) {
      closeWindow(win);
      page.idle();
      page.show("failed", "");
    }
  }

  return {
    json: json,
    postToIdp: postToIdp,
    showState: showState,
    message: message,
    card: card,
    watch: watch,
    openWindow: openWindow,
    closeWindow: closeWindow,
    start: start,
    accepted: accepted,
    outdated: outdated,
    follow: follow,
    submitResult: submitResult,
    run: run,
  };
})();
