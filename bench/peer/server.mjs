// The fair peer of `python -m bench.versus`: node-oidc-provider configured for FAPI 2.0, doing
// the protocol work of `bench.flow`'s card login (bench/flow_client.py) with the same card checks.
//
//   node bench/peer/server.mjs CONFIG.json     (written by bench/versus_peer.py)
//
// - PAR required, PKCE S256, private_key_jwt (ES256 client key, the library's jti replay check),
//   DPoP-bound access tokens with the server nonce required at /token, an ES256 ID token, a
//   refresh token, userinfo with DPoP and `ath` (the library's DPoP jti replay check);
// - the login page: a CSRF token and a single-use challenge kept with the interaction;
// - the card's result: the bridge's JSON checked field by field, the certificate parsed, its
//   issuer's signature and validity checked against the configured CA (one chain step), the
//   card's RSA PKCS#1 v1.5 signature over origin ‖ challenge verified, the OCSP answer read from
//   a cache (JSON, as the IdP keeps it) and its nextUpdate checked, the account found, and the
//   remembered consent (a Grant saved before the clock starts) loaded by loadExistingGrant.
// The store is the library's in-memory one (the counterpart of the IdP's in-process store).
import { createHash, generateKeyPairSync, randomBytes, timingSafeEqual, verify, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { issuer, port, client } = config;
const origin = new URL(issuer).origin;

const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
const anchors = config.anchors.map((pem) => new X509Certificate(pem));

// The store: the library's memory adapter over a map large enough that nothing a login needs is
// evicted during a run (its default keeps 1,000 entries, fewer than a run's logins create).
const store = new LRU({ maxSize: 1_000_000 });
const ocspCache = new Map(); // `${issuer}:${serial}` -> the answer as JSON, like the IdP's cache
const accounts = new Map(); // `${issuer}:${serial}` -> account id (the certificate's binding)
const remembered = new Map(); // `${account}|${client}` -> the remembered consent's grant id
const pending = new Map(); // interaction uid -> { csrf, challenge } (single use)

const provider = new Provider(issuer, {
  adapter: (model) => new MemoryAdapter(model, store),
  clients: [{
    client_id: client.client_id,
    redirect_uris: [client.redirect_uri],
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks: { keys: [client.jwk] },
    id_token_signed_response_alg: 'ES256',
    dpop_bound_access_tokens: true,
    require_pushed_authorization_requests: true,
  }],
  jwks: { keys: [{ ...signing, kid: 'peer-es256', alg: 'ES256', use: 'sig' }] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: {
    fapi: { enabled: true, profile: '2.0' },
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: (ctx) => ctx.oidc.route === 'token' },
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
  },
  enabledJWA: { idTokenSigningAlgValues: ['ES256'], clientAuthSigningAlgValues: ['ES256'], dPoPSigningAlgValues: ['ES256'] },
  routes: { authorization: '/authorize', pushed_authorization_request: '/par', token: '/token', userinfo: '/userinfo', jwks: '/jwks' },
  interactions: { url: (ctx, interaction) => `/login/card/${interaction.uid}` },
  issueRefreshToken: async (ctx, c) => c.grantTypeAllowed('refresh_token'),
  loadExistingGrant: async (ctx) => {
    const id = ctx.oidc.result?.consent?.grantId
      ?? remembered.get(`${ctx.oidc.session.accountId}|${ctx.oidc.client.clientId}`);
    return id ? ctx.oidc.provider.Grant.find(id) : undefined;
  },
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  renderError: async (ctx, out) => { ctx.type = 'json'; ctx.body = out; },
});

class Refused extends Error {}

function b64url(text) {
  return Buffer.from(text, 'base64url');
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// About the IdP's login page: its text in Japanese, the form, the challenge for the bridge.
const FILLER = '<p>マイナンバーカードをカードリーダーに置き、ブリッジの画面で利用者証明用電子証明書の暗証番号（数字4桁）を入力してください。</p>\n'.repeat(24);

function page(uid, csrf, challenge, clientName) {
  return `<!doctype html><html lang="ja"><head><meta charset="utf-8">
<title>${escape(clientName)} — マイナンバーカードでログイン</title></head><body><main>
<h1>${escape(clientName)}にログイン</h1>
${FILLER}<form method="post" action="/login/card/${escape(uid)}/result" data-challenge="${escape(challenge)}">
<input type="hidden" name="csrf_token" value="${escape(csrf)}">
<input type="hidden" name="result" value=""></form></main></body></html>`;
}

function sameSecret(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

// The card's result, checked as the IdP checks it: the account id, or Refused.
function verifyCard(result, challenge) {
  if (result.version !== 1 || result.purpose !== 'login' || result.format !== 'jpki-origin-challenge-v1'
    || result.algorithm !== 'RS256' || result.origin !== origin || !sameSecret(result.challenge, challenge)) {
    throw new Refused('not the result of this login');
  }
  const certificate = new X509Certificate(b64url(result.certificate));
  const anchor = anchors.find((ca) => certificate.checkIssued(ca));
  if (!anchor || !certificate.verify(anchor.publicKey)) throw new Refused('not issued by a trusted CA');
  const now = Date.now();
  if (now < Date.parse(certificate.validFrom) || now > Date.parse(certificate.validTo)) {
    throw new Refused('certificate not valid now');
  }
  const signed = Buffer.concat([
    createHash('sha256').update(origin).digest(),
    createHash('sha256').update(b64url(challenge)).digest(),
  ]);
  if (!verify('sha256', signed, certificate.publicKey, b64url(result.signature))) {
    throw new Refused('signature does not verify');
  }
  const key = `${createHash('sha256').update(anchor.raw).digest('hex')}:${certificate.serialNumber}`;
  const cached = ocspCache.get(key);
  const answer = cached && JSON.parse(cached);
  if (!answer || (answer.next_update && Date.parse(answer.next_update) <= now)) throw new Refused('no OCSP answer');
  if (answer.status !== 'good') throw new Refused(`certificate ${answer.status}`);
  const account = accounts.get(key);
  if (!account) throw new Refused('no account for this card');
  return account;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

const CARD_PAGE = /^\/login\/card\/([\w-]+)(\/result)?$/;

provider.use(async (ctx, next) => {
  const match = CARD_PAGE.exec(ctx.path);
  if (!match) return next();
  const [, uid, result] = match;
  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch {
    ctx.status = 400; ctx.body = 'no such login'; return undefined;
  }
  if (details.uid !== uid || details.prompt.name !== 'login') {
    ctx.status = 400; ctx.body = 'no such login'; return undefined;
  }
  if (!result && ctx.method === 'GET') {
    const state = { csrf: randomBytes(32).toString('base64url'), challenge: randomBytes(32).toString('base64url') };
    pending.set(uid, state);
    const c = await provider.Client.find(details.params.client_id);
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = page(uid, state.csrf, state.challenge, c.clientName ?? c.clientId);
    return undefined;
  }
  if (!result || ctx.method !== 'POST') { ctx.status = 405; return undefined; }
  const form = await readForm(ctx.req);
  const state = pending.get(uid);
  if (!state || !sameSecret(form.get('csrf_token'), state.csrf)) {
    ctx.status = 403; ctx.body = 'CSRF token missing or wrong'; return undefined;
  }
  pending.delete(uid); // the challenge is single use
  let accountId;
  try {
    accountId = verifyCard(JSON.parse(form.get('result')), state.challenge);
  } catch (e) {
    ctx.status = 403; ctx.body = `card refused: ${e instanceof Refused ? e.message : 'malformed'}`; return undefined;
  }
  ctx.respond = false;
  await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId } }, { mergeWithLastSubmission: false });
  return undefined;
});

// Before the clock: each card's account, its OCSP answer in the cache, its remembered consent.
for (const card of config.cards) {
  const certificate = new X509Certificate(b64url(card.certificate));
  const anchor = anchors.find((ca) => certificate.checkIssued(ca));
  const key = `${createHash('sha256').update(anchor.raw).digest('hex')}:${certificate.serialNumber}`;
  accounts.set(key, card.account);
  const next = new Date(Date.now() + 3600_000).toISOString();
  ocspCache.set(key, JSON.stringify({ status: 'good', responder: 'sandbox', this_update: new Date().toISOString(), next_update: next }));
  const grant = new provider.Grant({ accountId: card.account, clientId: client.client_id });
  grant.addOIDCScope('openid');
  remembered.set(`${card.account}|${client.client_id}`, await grant.save(30 * 24 * 3600));
}

provider.listen(port, '127.0.0.1', () => process.stdout.write(`peer listening on ${issuer}\n`));
