"""OWASP API2 (broken authentication): every token that is not exactly a live one is refused
with the same 401, tokens are accepted only in the Authorization header, and never logged."""
import time

import pytest

from conftest import assert_problem


def variants(token):
    body = token[5:]
    return {
        "truncated": token[:-1],
        "extended": token + "A",
        "case-swapped": token[:5] + body.swapcase(),
        "prefix-upper-case": token[:5].upper() + body,
        "other-prefix": "spat_" + body + "A",
        "last-char-changed": token[:-1] + ("B" if token[-1] != "B" else "C"),
        "whitespace-inside": token[:10] + " " + token[10:],
        "percent-encoded": token.replace("_", "%5F"),
    }


@pytest.mark.parametrize("name", sorted(variants("kpat_" + "x" * 49)))
def test_near_miss_tokens_are_401(server, org, name):
    bad = variants(org["token"])[name]
    body = assert_problem(server.request("GET", "/v3/users/me", token=bad), 401)
    assert body["detail"] in ("Invalid credentials.", "A valid token is required.")
    # the real token still works
    assert server.request("GET", "/v3/users/me", token=org["token"]).status_code == 200


@pytest.mark.parametrize("header", ["Basic a3BhdDpfeA==", "Token {t}", "Bearer", "Bearer  ", "bearer {t} extra",
                                    "{t}", "Bearer {t}{t}"])
def test_malformed_authorization_headers_are_401(server, org, header):
    value = header.format(t=org["token"])
    resp = server.request("GET", "/v3/users/me", headers={"Authorization": value})
    assert_problem(resp, 401)


def test_tokens_are_not_accepted_in_urls_and_never_logged(server, org):
    secret = org["token"]
    for query in ("token", "access_token", "api_key", "authorization"):
        resp = server.request("GET", "/v3/users/me?%s=%s" % (query, secret))
        assert_problem(resp, 401)
    resp = server.request("GET", "/v3/users/me", headers={"X-Api-Key": secret, "Cookie": "token=" + secret})
    assert_problem(resp, 401)
    time.sleep(0.3)  # the access log is flushed every 100 ms
    assert secret not in server.stdout() and secret not in server.stderr()


def test_one_answer_for_every_bad_token(server, org):
    """Unknown, malformed and revoked tokens get byte-identical bodies (but for instance), so
    tokens cannot be probed."""
    user_email = "api2-revoked@example.com"
    assert server.request("POST", "/v3/invites", token=org["token"], json={"email": user_email}).status_code == 201
    user = server.request("GET", "/v3/users", token=org["token"], params={"filter[email][eq]": user_email}).json()["data"][0]
    pat = server.request("POST", "/v3/users/%s/access-tokens" % user["id"], token=org["token"],
                         json={"name": "to revoke", "ttl_seconds": 86400}).json()
    assert server.request("PATCH", "/v3/users/%s/access-tokens/%s/revoke" % (user["id"], pat["id"]),
                          token=org["token"]).status_code == 200
    bodies = []
    for token in ("kpat_" + "Z" * 49, "kpat_short", pat["konnect_token"], "spat_" + "Q" * 50):
        body = assert_problem(server.request("GET", "/v3/users/me", token=token), 401)
        body.pop("instance")
        bodies.append(body)
    assert all(b == bodies[0] for b in bodies), bodies
