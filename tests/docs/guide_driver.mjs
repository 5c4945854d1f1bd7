// Runs the integration guide's Node section (guide.mjs, beside this file) for
// test_integration_guide.py: logs in with its functions, playing the browser (the testing IdP
// logs in without a card and approves at once). Prints one JSON line.
import { beginLogin, finishLogin } from "./guide.mjs";

const { url, pending } = await beginLogin();
const answer = await fetch(url, { redirect: "manual" });
const location = answer.headers.get("location");
if (!location) throw new Error(`no redirect from /authorize: ${answer.status}`);
const { tokens, claims, userinfo } = await finishLogin(new URL(location), pending);
console.log(JSON.stringify({ token_type: tokens.token_type, claims, userinfo }));
