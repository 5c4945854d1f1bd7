// The card login page: find the bridge, run its login operation, post the result to the IdP.
// docs/bridge-protocol.md, "A login page, step by step"; the bridge calls are in
// bridge-client.js. No PIN, certificate or challenge is ever written to the console or kept
// after the form is posted.
"use strict";

(function () {
  const B = window.JpkiBridge;
  const main = document.getElementById("main");
  const bridge = main.dataset.bridge;
  const lang = main.dataset.lang;
  const checkAgain = document.getElementById("check-again");
  const form = document.getElementById("result-form");
  const STATES = ["no_reader", "no_card", "not_jpki_card", "pcsc_unavailable", "busy"];
  let running = false;
  // The page came with the first attempt's challenge; later attempts, or one started after it
  // expired (less a margin for the bridge's round trip), ask the IdP for a fresh one. Wall-clock
  // time: unlike performance.now(), it also counts a computer's sleep.
  let pageChallenge = main.dataset.challenge;
  const pageChallengeUntil = Date.now() + (Number(main.dataset.challengeTtl) - 15) * 1000;

  // The page's own challenge is used only once the IdP says the login is still going on: a tab
  // left open after the login ended elsewhere (finished, cancelled, expired) must not have the
  // bridge ask for a PIN that could only be refused. Its 403 reads as the challenge's would.
  async function challenge() {
    const given = pageChallenge;
    pageChallenge = null;
    if (given && Date.now() < pageChallengeUntil) {
      const alive = await B.json(main.dataset.aliveUrl, {credentials: "same-origin", cache: "no-store"});
      if (alive.status !== 204) return {status: alive.status === 429 ? 429 : 403, body: null};
      return {status: 200, body: {challenge: given}};
    }
    return B.postToIdp(main.dataset.challengeUrl, main.dataset.csrf);
  }

  // The shared part (sections, detail, announcement) plus this page's "Check again" row.
  function show(state, detail) {
    B.showState(state, detail);
    const idle = ["ready", "working", "verifying", "checking"].indexOf(state) < 0;
    document.getElementById("check-again-row").hidden = !idle || state === "failed";
  }

  // The bridge's card problems this page names; any other is shown as "card_problem".
  function onCard(card) {
    if (card === null) {
      show("bridge_missing");
      return false;
    }
    if (card.ready) {
      show("ready");
      return true;
    }
    const reason = STATES.indexOf(card.error) >= 0 ? card.error : "card_problem";
    show(reason, reason === "card_problem" ? B.message(card, lang) : undefined);
    return false;
  }

  const watcher = B.watch(bridge, () => running, onCard);
  const probe = watcher.check;

  // Asks for the challenge (403: the login expired or the session changed, and the page,
  // reloaded, says which; 429: too many attempts, the page stays usable and the next attempt
  // works once the IdP's window has passed), then has the bridge sign it.
  async function begin(win) {
    const issued = await challenge();
    if (issued.status === 403) {
      B.closeWindow(win);
      window.location.reload();
      return null;
    }
    if (issued.status === 429) {
      B.closeWindow(win);
      running = false;
      show("failed", main.dataset.rateLimited);
      return null;
    }
    if (issued.status !== 200 || !issued.body) throw new Error("challenge");
    return B.start(bridge, "/v1/authenticate", {
      challenge: issued.body.challenge, service: main.dataset.service,
    });
  }

  function login() {
    if (running) return;
    running = true;
    watcher.stop();
    B.run({
      bridge: bridge, lang: lang, height: 680, show: show, begin: begin,
      idle: () => { running = false; },
      refused: (started) => {
        const refusal = started.body;
        show(refusal && refusal.error === "busy" ? "busy" : "failed", B.message(refusal, lang));
      },
      submit: (op) => B.submitResult(form, op),
      locked: () => {
        window.location.assign(main.dataset.refusedUrl.replace("REASON", "pin_locked"));
      },
    });
  }

  document.getElementById("login-button").addEventListener("click", login);
  document.getElementById("retry-button").addEventListener("click", () => { show("checking"); probe(); });
  checkAgain.addEventListener("click", () => { show("checking"); probe(); });
  probe();
})();
