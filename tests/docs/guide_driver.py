"""Runs the integration guide's Python program as its reader would use it, for
``test_integration_guide.py``: ``python -m tests.docs.guide_driver GUIDE_PY CLAIMS_JSON``.

GUIDE_PY is every Python block of the guide, in order (placeholders replaced by the live IdP's
and the test bank's URLs); it runs in one namespace, in the current directory, as the reader's
program would. Then this logs in with the guide's functions, with the claims request of the
guide's §7, plays the browser (the testing IdP logs in without a card and approves at once),
calls userinfo, sends the requests whose refusals the guide's error table describes, and sets up
and verifies a Shared Signals stream as §14 does.
Prints one JSON line.
"""

from __future__ import annotations

import json
import secrets
import sys

import requests


def browser(url: str) -> str:
    """Where the IdP sends the browser back to (a card login would happen in between)."""
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code in (302, 303), (answer.status_code, answer.text[:300])
    return answer.headers["Location"]


def refusal(response: requests.Response) -> list:
    return [response.status_code, response.json()["error"]]


def refusals(guide: dict, access_token: str) -> dict[str, list]:
    """The error table's answers, each as [status, error], by the table's "where"."""
    metadata, client_id = guide["metadata"], guide["client_id"]
    token, par = metadata["token_endpoint"], metadata["pushed_authorization_request_endpoint"]
    session = guide["client_session"]()
    auth = session.client_auth(guide["FreshPrivateKeyJWT"].name)
    with_dpop, dpop_proof = guide["with_dpop"], guide["dpop_proof"]
    code_form = {
        "grant_type": "authorization_code",
        "code": "not-a-code",
        "redirect_uri": guide["REDIRECT_URI"],
        "code_verifier": secrets.token_urlsafe(48),
    }

    def post_token(headers: dict, auth=auth) -> requests.Response:
        return requests.post(token, data=code_form, headers=headers, auth=auth, timeout=10)

    stranger = guide["ECKey"].generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    session_of_stranger = guide["OAuth2Session"](
        client_id, stranger, token_endpoint_auth_method=guide["FreshPrivateKeyJWT"].name
    )
    session_of_stranger.register_client_auth_method(guide["FreshPrivateKeyJWT"](alg="ES256"))
    strangers_auth = session_of_stranger.client_auth(guide["FreshPrivateKeyJWT"].name)
    guide["dpop_nonce"] = None
    found = {"token use_dpop_nonce": refusal(post_token({"DPoP": dpop_proof("POST", token)}))}
    found["token invalid_client"] = refusal(
        with_dpop("POST", token, lambda h: post_token(h, strangers_auth))
    )
    found["PAR invalid_client (no assertion)"] = refusal(
        with_dpop("POST", par, lambda h: requests.post(par, data={"client_id": client_id},
                                                      headers=h, timeout=10))
    )  # fmt: skip
    found["token invalid_grant"] = refusal(with_dpop("POST", token, post_token))
    found["token invalid_dpop_proof"] = refusal(post_token({"DPoP": "not.a.proof"}))
    register = metadata["registration_endpoint"]
    found["register invalid_token"] = refusal(
        requests.post(register, headers={"Authorization": "Bearer wrong"}, json={}, timeout=10)
    )
    documents = guide["ISSUER"] + "/documents"
    found["documents invalid_client"] = refusal(requests.post(documents, json={}, timeout=10))
    userinfo = metadata["userinfo_endpoint"]
    found["APIs invalid_token"] = refusal(
        with_dpop("GET", userinfo, lambda h: requests.get(
            userinfo, headers={**h, "Authorization": "DPoP not-a-token"}, timeout=10
        ), "not-a-token")
    )  # fmt: skip
    found["APIs invalid_dpop_proof"] = refusal(
        requests.get(
            userinfo,
            headers={"Authorization": f"DPoP {access_token}", "DPoP": "not.a.proof"},
            timeout=10,
        )
    )
    income = guide["ISSUER"] + "/selfinfo/v1/income"
    found["APIs insufficient_scope"] = refusal(
        with_dpop("GET", income, lambda h: requests.get(
            income, headers={**h, "Authorization": f"DPoP {access_token}"}, timeout=10
        ), access_token)
    )  # fmt: skip
    return found


def shared_signals(guide: dict) -> dict:
    """§14: a stream-management token, a poll stream, its verification, then nothing owed."""
    token = guide["ssf_token"]()
    stream = guide["create_stream"](token)
    verification = guide["verify_stream_by_poll"](token, stream)
    poll = stream["delivery"]["endpoint_url"]
    after = guide["ssf_call"]("POST", poll, token, {"returnImmediately": True})
    listed = guide["ssf_call"]("GET", guide["ssf"]["configuration_endpoint"], token)
    return {"stream": stream, "verification": verification, "after": after, "listed": listed}


def main(guide_path: str, claims_path: str) -> None:
    with open(guide_path, encoding="utf-8") as f:
        source = f.read()
    guide: dict = {"__name__": "guide"}
    exec(compile(source, guide_path, "exec"), guide)  # noqa: S102 (the guide's own program)
    with open(claims_path, encoding="utf-8") as f:
        claims_request = json.load(f)
    url, pending = guide["begin_login"](claims=claims_request)
    tokens = guide["finish_login"](browser(url), pending)
    print(
        json.dumps(
            {
                "client_id": guide["client_id"],
                "token_type": tokens["token_type"],
                "claims": tokens["claims"],
                "userinfo": guide["userinfo"](tokens["access_token"]),
                "refusals": refusals(guide, tokens["access_token"]),
                "ssf": shared_signals(guide),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
