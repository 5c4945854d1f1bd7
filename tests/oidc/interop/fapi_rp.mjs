// A FAPI 2.0 relying party on node's openid-client, for tests/production/test_openid_client.py:
// discovery over https -> PAR -> (the browser logs in) -> token -> userinfo -> refresh ->
// userinfo -> end-session URL. private_key_jwt (ES256), DPoP (ES256, the library handles server
// nonces), PKCE S256; the ID token (ES256) is validated by the library.
// The test CA comes from NODE_EXTRA_CA_CERTS. Line protocol:
//   stdin  line 1: {issuer, client_id, redirect_uri, post_logout_redirect_uri, jwk}
//   stdout line 1: {authorization_url}
//   stdin  line 2: the callback URL the browser reached
//   stdout line 2: {claims, userinfo, refreshed_userinfo, token_type, end_session_url}
import * as readline from "node:readline";
import * as client from "openid-client";

const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const next = async () => (await lines.next()).value;
const input = JSON.parse(await next());

const privateKey = await crypto.subtle.importKey(
  "jwk", input.jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
const config = await client.discovery(
  new URL(input.issuer), input.client_id, { id_token_signed_response_alg: "ES256" },
  client.PrivateKeyJwt({ key: privateKey, kid: input.jwk.kid }));
const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair("ES256"));

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
}, { DPoP });
console.log(JSON.stringify({ authorization_url: url.href }));

const callback = new URL(await next());
const tokens = await client.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: verifier,
  expectedNonce: nonce,
  expectedState: state,
  idTokenExpected: true,
}, undefined, { DPoP });
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub, { DPoP });
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
const refreshedUserinfo = await client.fetchUserInfo(
  config, refreshed.access_token, claims.sub, { DPoP });
const endSession = client.buildEndSessionUrl(config, {
  id_token_hint: tokens.id_token,
  post_logout_redirect_uri: input.post_logout_redirect_uri,
});
console.log(JSON.stringify({
  claims,
  userinfo,
  refreshed_userinfo: refreshedUserinfo,
  token_type: tokens.token_type,
  end_session_url: endSession.href,
}));
process.exit(0);
