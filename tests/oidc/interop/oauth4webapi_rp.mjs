// A relying party on oauth4webapi (the low-level library under openid-client, used on its own):
// discovery -> PAR -> authorize -> token -> userinfo -> refresh -> userinfo, with
// private_key_jwt (ES256), PKCE S256 and DPoP (ES256) on every call, the ID token's claims
// validated by the library (its signature too, on request). oauth4webapi keeps the latest
// DPoP-Nonce per server in its DPoP handle but leaves the retry to the caller: isDPoPNonceError
// says when to send once more.
// Input: one JSON object on stdin {issuer, client_id, redirect_uri, jwk}. Output: one JSON line.
import * as oauth from "oauth4webapi";

const input = JSON.parse(await new Promise((resolve) => {
  let data = "";
  process.stdin.on("data", (chunk) => (data += chunk));
  process.stdin.on("end", () => resolve(data));
}));
const http = { [oauth.allowInsecureRequests]: true }; // the test IdP is on http://127.0.0.1

/** Run request() and process(response) once more if the server asked for a DPoP nonce. */
async function withNonceRetry(request, process) {
  try {
    return await process(await request());
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err;
    return await process(await request());
  }
}

const issuer = new URL(input.issuer);
const as = await oauth.processDiscoveryResponse(
  issuer, await oauth.discoveryRequest(issuer, http));
const client = { client_id: input.client_id };
const privateKey = await crypto.subtle.importKey(
  "jwk", input.jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
const clientAuth = oauth.PrivateKeyJwt({ key: privateKey, kid: input.jwk.kid });
const DPoP = oauth.DPoP(client, await oauth.generateKeyPair("ES256"));
const options = { DPoP, ...http };

const verifier = oauth.generateRandomCodeVerifier();
const nonce = oauth.generateRandomNonce();
const state = oauth.generateRandomState();
const params = new URLSearchParams({
  redirect_uri: input.redirect_uri,
  scope: "openid",
  response_type: "code",
  code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
  code_challenge_method: "S256",
  nonce,
  state,
});
const pushed = await withNonceRetry(
  () => oauth.pushedAuthorizationRequest(as, client, clientAuth, params, options),
  (response) => oauth.processPushedAuthorizationResponse(as, client, response));

const url = new URL(as.authorization_endpoint);
url.searchParams.set("client_id", client.client_id);
url.searchParams.set("request_uri", pushed.request_uri);
// The "browser": the testing IdP logs in at once (no card) and redirects back with the code.
const answer = await fetch(url, { redirect: "manual" });
const location = answer.headers.get("location");
if (!location) throw new Error(`no redirect from /authorize: ${answer.status}`);
const callback = oauth.validateAuthResponse(as, client, new URL(location), state);

let tokenResponse;
const tokens = await withNonceRetry(
  () => oauth.authorizationCodeGrantRequest(
    as, client, clientAuth, callback, input.redirect_uri, verifier, options),
  (response) => oauth.processAuthorizationCodeResponse(
    as, client, (tokenResponse = response), { expectedNonce: nonce, requireIdToken: true }));
const claims = oauth.getValidatedIdTokenClaims(tokens);
// The claims are checked; the signature only on request (TLS vouches for the token endpoint).
await oauth.validateApplicationLevelSignature(as, tokenResponse, http);

const userinfoOf = (accessToken) => withNonceRetry(
  () => oauth.userInfoRequest(as, client, accessToken, options),
  (response) => oauth.processUserInfoResponse(as, client, claims.sub, response));
const userinfo = await userinfoOf(tokens.access_token);
const refreshed = await withNonceRetry(
  () => oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, options),
  (response) => oauth.processRefreshTokenResponse(as, client, response));
const refreshedUserinfo = await userinfoOf(refreshed.access_token);
console.log(JSON.stringify({
  claims,
  userinfo,
  refreshed_userinfo: refreshedUserinfo,
  token_type: tokens.token_type,
  refreshed_token_type: refreshed.token_type,
}));
