// A relying party on node's openid-client (not Authlib): discovery -> PAR -> authorize ->
// token (private_key_jwt, PKCE S256) -> userinfo -> refresh -> userinfo, ID token validated by the
// library. Input: one JSON object on stdin {issuer, client_id, redirect_uri, jwk, dpop}: an RSA
// (RS256) or P-256 (ES256) client key; with dpop true the library's own DPoP (ES256 key, server
// nonces) binds PAR, token, userinfo and refresh.
// Output: one JSON line.
import * as client from "openid-client";

const input = JSON.parse(await new Promise((resolve) => {
  let data = "";
  process.stdin.on("data", (chunk) => (data += chunk));
  process.stdin.on("end", () => resolve(data));
}));

const algorithm = input.jwk.kty === "EC"
  ? { name: "ECDSA", namedCurve: "P-256" }
  : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
const privateKey = await crypto.subtle.importKey("jwk", input.jwk, algorithm, false, ["sign"]);
const config = await client.discovery(
  new URL(input.issuer), input.client_id, undefined,
  client.PrivateKeyJwt({ key: privateKey, kid: input.jwk.kid }),
  { execute: [client.allowInsecureRequests] });

const DPoP = input.dpop
  ? client.getDPoPHandle(config, await client.randomDPoPKeyPair("ES256"))
  : undefined;
const options = DPoP ? { DPoP } : undefined;

const verifier = client.randomPKCECodeVerifier();
const nonce = client.randomNonce();
const state = client.randomState();
const url = await client.buildAuthorizationUrlWithPAR(config, {
  redirect_uri: input.redirect_uri,
  scope: "openid",
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: "S256",
  nonce,
  state,
}, options);

// The "browser": the testing IdP logs in at once and redirects back with the code.
const answer = await fetch(url, { redirect: "manual" });
const location = answer.headers.get("location");
if (!location) throw new Error(`no redirect from /authorize: ${answer.status}`);

const tokens = await client.authorizationCodeGrant(config, new URL(location), {
  pkceCodeVerifier: verifier,
  expectedNonce: nonce,
  expectedState: state,
  idTokenExpected: true,
}, undefined, options);
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub, options);
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, options);
const refreshedUserinfo = await client.fetchUserInfo(
  config, refreshed.access_token, claims.sub, options);
console.log(JSON.stringify({
  claims,
  userinfo,
  token_type: tokens.token_type,
  refreshed_token_type: refreshed.token_type,
  refreshed_userinfo: refreshedUserinfo,
}));
