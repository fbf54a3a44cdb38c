"""Malformed and hostile requests sent over raw sockets.

Rule for every case: the server answers with a 4xx application/problem+json body that meets
the error contract (assert_problem), or -- only where the case allows it -- closes the
connection without answering. Never a 5xx, never a hang (a socket timeout fails the case),
and afterwards a plain GET /healthz on a new connection still succeeds.
"""
import pytest

from conftest import assert_problem, param, raw_exchange, raw_get

TOKEN = b"%TOKEN%"  # replaced by the org fixture's token at run time
CP = b"/v2/control-planes"
HOST = b"Host: 127.0.0.1\r\n"
AUTH = b"Authorization: Bearer " + TOKEN + b"\r\n"


def post(body, ctype=b"application/json", length=None, extra=b"", path=CP, method=b"POST"):
    """A POST with a well-framed body (unless `length` overrides Content-Length)."""
    if length is None:
        length = str(len(body)).encode()
    head = method + b" " + path + b" HTTP/1.1\r\n" + HOST + AUTH
    if ctype is not None:
        head += b"Content-Type: " + ctype + b"\r\n"
    if length is not False:
        head += b"Content-Length: " + length + b"\r\n"
    return head + extra + b"\r\n" + body


def get(target, extra=b"", auth=True):
    return b"GET " + target + b" HTTP/1.1\r\n" + HOST + (AUTH if auth else b"") + extra + b"\r\n"


def chunked(raw_chunks, extra=b""):
    return (b"POST " + CP + b" HTTP/1.1\r\n" + HOST + AUTH + b"Content-Type: application/json\r\n"
            + extra + b"Transfer-Encoding: chunked\r\n\r\n" + raw_chunks)


def deep(levels):
    """An object whose value nests arrays so that the whole document is `levels` deep."""
    return b'{"name":"cp-1","x":' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"


BAD_400 = {400}

# (id, request bytes, accepted statuses, may the server close without answering?, half-close after sending?)
CASES = [
    # --- broken JSON bodies: well framed, so they must get an answer (400) -----------------
    ("json-open-brace-only", post(b"{"), BAD_400, False, False),
    ("json-unclosed-string", post(b'{"name":"cp'), BAD_400, False, False),
    ("json-truncated-mid-key", post(b'{"na'), BAD_400, False, False),
    ("json-truncated-after-colon", post(b'{"name":'), BAD_400, False, False),
    ("json-truncated-in-escape", post(b'{"name":"cp\\'), BAD_400, False, False),
    ("json-trailing-comma", post(b'{"name":"cp-1",}'), BAD_400, False, False),
    ("json-double-comma", post(b'{"name":"cp-1",,"description":"d"}'), BAD_400, False, False),
    ("json-missing-colon", post(b'{"name" "cp-1"}'), BAD_400, False, False),
    ("json-missing-value", post(b'{"name":}'), BAD_400, False, False),
    ("json-single-quotes", post(b"{'name':'cp-1'}"), BAD_400, False, False),
    ("json-unquoted-key", post(b'{name:"cp-1"}'), BAD_400, False, False),
    ("json-trailing-garbage", post(b'{"name":"cp-1"} x'), BAD_400, False, False),
    ("json-two-documents", post(b'{"name":"cp-1"}{"name":"cp-2"}'), BAD_400, False, False),
    ("json-comment", post(b'{"name":"cp-1" /* hi */}'), BAD_400, False, False),
    ("json-nan", post(b'{"name":"cp-1","description":NaN}'), BAD_400, False, False),
    ("json-infinity", post(b'{"name":"cp-1","description":-Infinity}'), BAD_400, False, False),
    ("json-leading-zero", post(b'{"name":"cp-1","description":012}'), BAD_400, False, False),
    ("json-bad-escape", post(b'{"name":"cp\\q"}'), BAD_400, False, False),
    ("json-short-unicode-escape", post(b'{"name":"\\u12"}'), BAD_400, False, False),
    ("json-lone-surrogate-escape", post(b'{"name":"cp-\\ud800"}'), BAD_400, False, False),
    ("json-raw-control-char", post(b'{"name":"cp\x01x"}'), BAD_400, False, False),
    ("json-raw-newline-in-string", post(b'{"name":"cp\nx"}'), BAD_400, False, False),
    ("json-mismatched-brackets", post(b'{"name":"cp-1"]'), BAD_400, False, False),
    ("json-close-only", post(b"}"), BAD_400, False, False),
    ("json-bare-word", post(b"hello"), BAD_400, False, False),
    ("json-huge-exponent", post(b'{"name":"cp-1","description":1e999999}'), BAD_400, False, False),
    ("json-deep-100000", post(b"[" * 100000), BAD_400, False, False),
    ("json-deep-100000-closed", post(b"[" * 100000 + b"]" * 100000), BAD_400, False, False),
    ("json-deep-65", post(deep(65)), BAD_400, False, False),
    # --- invalid UTF-8 and NUL bytes ------------------------------------------------------
    ("utf8-invalid-bytes", post(b'{"name":"cp-\xff\xfe"}'), BAD_400, False, False),
    ("utf8-overlong", post(b'{"name":"cp-\xc0\xaf"}'), BAD_400, False, False),
    ("utf8-truncated-sequence", post(b'{"name":"cp-\xe2\x82"}'), BAD_400, False, False),
    ("utf8-encoded-surrogate", post(b'{"name":"cp-\xed\xa0\x80"}'), BAD_400, False, False),
    ("utf8-invalid-in-key", post(b'{"na\xffme":"cp-1"}'), BAD_400, False, False),
    ("nul-in-json-string", post(b'{"name":"cp\x00x"}'), BAD_400, False, False),
    ("nul-after-json", post(b'{"name":"cp-1"}\x00'), BAD_400, False, False),
    ("nul-in-header-value", get(b"/healthz", extra=b"X-Test: a\x00b\r\n"), BAD_400, True, False),
    ("nul-in-header-name", get(b"/healthz", extra=b"X-Te\x00st: ab\r\n"), BAD_400, True, False),
    ("nul-in-request-target", b"GET /hea\x00lthz HTTP/1.1\r\n" + HOST + b"\r\n", {400, 404}, True, False),
    # --- the body is valid JSON but not an object / empty -----------------------------------
    ("body-empty-content-length-0", post(b""), BAD_400, False, False),
    ("body-empty-no-content-length", post(b"", length=False), {400, 411}, False, False),
    ("body-whitespace-only", post(b"  \r\n\t "), BAD_400, False, False),
    ("body-json-array", post(b'[{"name":"cp-1"}]'), BAD_400, False, False),
    ("body-json-string", post(b'"cp-1"'), BAD_400, False, False),
    ("body-json-number", post(b"42"), BAD_400, False, False),
    ("body-json-null", post(b"null"), BAD_400, False, False),
    ("body-json-true", post(b"true"), BAD_400, False, False),
    # --- content types ---------------------------------------------------------------------
    ("ctype-text-plain", post(b'{"name":"cp-1"}', ctype=b"text/plain"), {415}, False, False),
    ("ctype-form", post(b"name=cp-1", ctype=b"application/x-www-form-urlencoded"), {415}, False, False),
    ("ctype-multipart", post(b"--x\r\n\r\n--x--", ctype=b"multipart/form-data; boundary=x"), {415}, False, False),
    ("ctype-json-lookalike", post(b'{"name":"cp-1"}', ctype=b"application/jsonx"), {415}, False, False),
    ("ctype-missing", post(b'{"name":"cp-1"}', ctype=None), {400, 415}, False, False),
    ("ctype-garbage", post(b'{"name":"cp-1"}', ctype=b";;;==="), {400, 415}, False, False),
    # --- sizes -----------------------------------------------------------------------------
    ("body-2MiB", post(b'{"name":"' + b"a" * (2 * 1024 * 1024) + b'"}'), {413}, False, False),
    ("header-64KiB", get(b"/healthz", extra=b"X-Big: " + b"a" * (64 * 1024) + b"\r\n"), {431}, False, False),
    ("header-many-small-fields", get(b"/healthz", extra=b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 20)
                                                                   for i in range(1500))), {431}, False, False),
    ("request-line-100KiB", b"GET /healthz?x=" + b"a" * (100 * 1024) + b" HTTP/1.1\r\n" + HOST + b"\r\n",
     {400, 431}, False, False),
    ("path-100KiB", b"GET /v2/control-planes/" + b"a" * (100 * 1024) + b" HTTP/1.1\r\n" + HOST + b"\r\n",
     {400, 431}, False, False),
    # --- message framing -------------------------------------------------------------------
    ("cl-and-te-conflict", post(b'f\r\n{"name":"cp-x"}\r\n0\r\n\r\n', length=b"3",
                                extra=b"Transfer-Encoding: chunked\r\n"), BAD_400, True, False),
    ("cl-two-different", post(b'{"name":"cp-1"}', extra=b"Content-Length: 16\r\n"), BAD_400, True, False),
    ("cl-negative", post(b'{"name":"cp-1"}', length=b"-1"), BAD_400, True, False),
    ("cl-non-numeric", post(b'{"name":"cp-1"}', length=b"abc"), BAD_400, True, False),
    ("cl-plus-sign", post(b'{"name":"cp-1"}', length=b"+15"), BAD_400, True, False),
    ("cl-hex", post(b'{"name":"cp-1"}', length=b"0xf"), BAD_400, True, False),
    ("cl-comma-list-differing", post(b'{"name":"cp-1"}', length=b"15, 16"), BAD_400, True, False),
    ("cl-overflow", post(b'{"name":"cp-1"}', length=b"99999999999999999999999999"), {400, 413}, True, False),
    ("cl-larger-than-body-then-eof", post(b'{"name":"cp-1"}', length=b"100"), BAD_400, True, True),
    ("te-unknown-coding", post(b'{"name":"cp-1"}', length=False, extra=b"Transfer-Encoding: gzip\r\n"),
     BAD_400, True, False),
    ("te-chunked-not-last", post(b'{"name":"cp-1"}', length=False, extra=b"Transfer-Encoding: chunked, gzip\r\n"),
     BAD_400, True, False),
    ("te-chunked-bad-size", chunked(b'zz\r\n{"name":"cp-1"}\r\n0\r\n\r\n'), BAD_400, True, False),
    ("te-chunked-negative-size", chunked(b'-f\r\n{"name":"cp-1"}\r\n0\r\n\r\n'), BAD_400, True, False),
    ("te-chunked-size-overflow", chunked(b"ffffffffffffffffffffff\r\nab\r\n0\r\n\r\n"), {400, 413}, True, False),
    ("te-chunked-missing-crlf", chunked(b'f\r\n{"name":"cp-1"}XX0\r\n\r\n'), BAD_400, True, False),
    ("te-chunked-truncated-then-eof", chunked(b'f\r\n{"name"'), BAD_400, True, True),
    ("te-chunked-over-max-body", chunked(b"".join(b"10000\r\n" + b"a" * 0x10000 + b"\r\n" for _ in range(40))
                                         + b"0\r\n\r\n"), {413}, False, False),
    ("expect-100-then-eof", post(b"", length=b"15", extra=b"Expect: 100-continue\r\n"), BAD_400, True, True),
    # --- request line and version ----------------------------------------------------------
    ("method-unknown-brew", b"BREW /v2/control-planes HTTP/1.1\r\n" + HOST + AUTH + b"\r\n", {400, 405}, True, False),
    ("method-lowercase", b"get /healthz HTTP/1.1\r\n" + HOST + b"\r\n", {400, 405}, True, False),
    ("method-with-bad-chars", b"G{}T /healthz HTTP/1.1\r\n" + HOST + b"\r\n", BAD_400, True, False),
    ("version-http2", b"GET /healthz HTTP/2.0\r\n" + HOST + b"\r\n", BAD_400, True, False),
    ("version-garbage", b"GET /healthz HTTX/1.1\r\n" + HOST + b"\r\n", BAD_400, True, False),
    ("version-http9", b"GET /healthz HTTP/9.9\r\n" + HOST + b"\r\n", BAD_400, True, False),
    ("version-missing", b"GET /healthz\r\n" + HOST + b"\r\n", BAD_400, True, False),
    ("request-line-garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", BAD_400, True, False),
    ("request-line-blank-then-garbage", b"   \r\nxyz\r\n\r\n", BAD_400, True, False),
    ("request-line-extra-spaces", b"GET  /healthz  HTTP/1.1\r\n" + HOST + b"\r\n", {400, 404}, True, False),
    ("target-not-absolute", b"GET healthz HTTP/1.1\r\n" + HOST + b"\r\n", {400, 404}, True, False),
    ("header-without-colon", get(b"/healthz", extra=b"this is not a header\r\n"), BAD_400, True, False),
    ("header-space-before-colon", get(b"/healthz", extra=b"X-Test : a\r\n"), BAD_400, True, False),
    ("header-name-with-space", get(b"/healthz", extra=b"X Test: a\r\n"), BAD_400, True, False),
    ("header-bare-cr-in-value", get(b"/healthz", extra=b"X-Test: a\rb\r\n"), BAD_400, True, False),
    ("host-missing", b"GET /healthz HTTP/1.1\r\n\r\n", BAD_400, True, False),
    ("host-duplicated", b"GET /healthz HTTP/1.1\r\n" + HOST + b"Host: example.com\r\n\r\n", BAD_400, True, False),
    # --- query strings ---------------------------------------------------------------------
    ("query-page-size-abc", get(CP + b"?page[size]=abc"), BAD_400, False, False),
    ("query-page-size-negative", get(CP + b"?page[size]=-1"), BAD_400, False, False),
    ("query-page-size-100000", get(CP + b"?page[size]=100000"), BAD_400, False, False),
    ("query-page-size-zero", get(CP + b"?page[size]=0"), BAD_400, False, False),
    ("query-page-size-fraction", get(CP + b"?page[size]=1.5"), BAD_400, False, False),
    ("query-page-size-exponent", get(CP + b"?page[size]=1e2"), BAD_400, False, False),
    ("query-page-number-0", get(CP + b"?page[number]=0"), BAD_400, False, False),
    ("query-page-number-overflow", get(CP + b"?page[number]=99999999999999999999999"), BAD_400, False, False),
    ("query-bad-percent-escape", get(CP + b"?filter[name][eq]=%zz"), BAD_400, False, False),
    ("query-truncated-percent-escape", get(CP + b"?filter[name][eq]=a%2"), BAD_400, False, False),
    # Query values are text: bytes that are not UTF-8 are malformed, on every database.
    ("query-not-utf8-value", get(CP + b"?filter[name][contains]=a%9Bb"), BAD_400, False, False),
    ("query-not-utf8-key", get(CP + b"?filter[na%C0%80me][eq]=a"), BAD_400, False, False),
    ("query-filter-unsupported-operator", get(CP + b"?filter[name][gt]=x"), BAD_400, False, False),
    ("query-filter-unknown-field", get(CP + b"?filter[bogus][eq]=x"), BAD_400, False, False),
    ("query-filter-bad-uuid", get(CP + b"?filter[id][eq]=nope"), BAD_400, False, False),
    ("query-sort-unsupported-key", get(CP + b"?sort=name"), BAD_400, False, False),
    # --- path ids --------------------------------------------------------------------------
    ("path-id-not-uuid", get(CP + b"/not-a-uuid"), BAD_400, False, False),
    ("path-id-uuid-bad-hex", get(CP + b"/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"), BAD_400, False, False),
    ("path-id-uuid-too-long", get(CP + b"/00000000-0000-0000-0000-0000000000000"), BAD_400, False, False),
    ("path-id-uuid-no-dashes-extra", get(CP + b"/0000000000000000000000000000000000"), BAD_400, False, False),
    ("path-id-bad-percent-escape", get(CP + b"/%zz"), {400, 404}, False, False),
    ("path-id-percent-nul", get(CP + b"/%00"), {400, 404}, False, False),
    ("path-id-patch-not-uuid", post(b'{"name":"cp-2"}', path=CP + b"/1234", method=b"PATCH"), BAD_400, False, False),
    ("path-id-delete-not-uuid", b"DELETE " + CP + b"/x' OR 1=1 -- HTTP/1.1\r\n" + HOST + AUTH + b"\r\n",
     {400, 404}, True, False),
    ("path-traversal", get(b"/v2/control-planes/../../../etc/passwd"), {400, 404}, False, False),
    # --- authentication header garbage -----------------------------------------------------
    ("auth-empty-bearer", b"GET " + CP + b" HTTP/1.1\r\n" + HOST + b"Authorization: Bearer\r\n\r\n", {401}, False, False),
    ("auth-basic-scheme", b"GET " + CP + b" HTTP/1.1\r\n" + HOST + b"Authorization: Basic YTpi\r\n\r\n", {401}, False, False),
    ("auth-token-8KiB", b"GET " + CP + b" HTTP/1.1\r\n" + HOST + b"Authorization: Bearer kpat_" + b"a" * 8192
     + b"\r\n\r\n", {401}, False, False),
    ("auth-token-binary", b"GET " + CP + b" HTTP/1.1\r\n" + HOST + b"Authorization: Bearer kpat_\xff\xfe\x80\r\n\r\n",
     {400, 401}, True, False),
]

_ids = [c[0] for c in CASES]
assert len(set(_ids)) == len(_ids), "duplicate case ids"
assert len({c[1] for c in CASES}) == len(CASES), "two cases send the same bytes"


def check_answer(resp, allowed, may_close):
    if resp is None:
        assert may_close, "the server closed the connection without answering; expected one of %s" % sorted(allowed)
        return None
    assert resp.status_code < 500, "5xx for a client error: %r" % resp
    assert resp.status_code in allowed, "expected %s, got %r" % (sorted(allowed), resp)
    return assert_problem(resp, resp.status_code)


@pytest.mark.parametrize("case_id,request_bytes,allowed,may_close,half_close", CASES, ids=_ids)
def test_malformed_request(server, org, case_id, request_bytes, allowed, may_close, half_close):
    data = request_bytes.replace(TOKEN, org["token"].encode())
    resp, conn = raw_exchange(server.port, data, timeout=5.0, half_close=half_close)
    try:
        check_answer(resp, allowed, may_close)
    finally:
        conn.close()
    assert server.proc.poll() is None, "the server died on %s: %s" % (case_id, server.stderr()[-2000:])
    health = raw_get(server.port, "/healthz")
    assert health is not None and health.status_code == 200, "health check after %s: %r" % (case_id, health)


# --- specific reasons on a few of the cases above ------------------------------------------


def _send(server, org, data):
    resp, conn = raw_exchange(server.port, data.replace(TOKEN, org["token"].encode()))
    conn.close()
    return resp


def test_nesting_limit_is_64(server, org):
    # 64 levels parse (the only problem left is the unknown key x); 65 levels are refused by the parser.
    body = assert_problem(_send(server, org, post(deep(64))), 400)
    assert param(body, "x")["rule"] == "unknown_property"
    body = assert_problem(_send(server, org, post(deep(65))), 400)
    p = param(body, "body")
    assert p["source"] == "body" and "deep" in p["reason"], p


def test_invalid_utf8_is_reported_on_the_body(server, org):
    body = assert_problem(_send(server, org, post(b'{"name":"cp-\xff\xfe"}')), 400)
    assert param(body, "body")["source"] == "body"


def test_query_problems_name_the_parameter(server, org):
    for query, field, rule in ((b"page[size]=-1", "page[size]", "min"),
                               (b"page[size]=100000", "page[size]", "max"),
                               (b"page[number]=0", "page[number]", "min"),
                               (b"filter[name][gt]=x", "[filter][name][gt]", None),
                               (b"sort=name", "sort", "enum")):
        body = assert_problem(_send(server, org, get(CP + b"?" + query)), 400)
        p = param(body, field)
        assert p["source"] == "query", p
        if rule:
            assert p["rule"] == rule, p


@pytest.mark.parametrize("coding", [b"gzip", b"chunked, gzip", b"identity"], ids=["gzip", "chunked-then-gzip", "identity"])
def test_transfer_encoding_without_final_chunked_is_400_and_closes(server, coding):
    # RFC 9112 section 6.1: when Transfer-Encoding is present and chunked is not the final coding,
    # the body length cannot be determined: the server MUST answer 400 and close the connection.
    # Otherwise the body is read as the next request on the connection (request smuggling).
    data = (b"POST /v2/control-planes HTTP/1.1\r\n" + HOST + b"Content-Type: application/json\r\n"
            b"Transfer-Encoding: " + coding + b"\r\n\r\n"
            b"GET /v2/smuggled HTTP/1.1\r\n" + HOST + b"\r\n")
    resp, conn = raw_exchange(server.port, data)
    try:
        assert resp is not None, "no answer"
        assert_problem(resp, 400)
        second = conn.read_response()
        assert second is None, "the body was served as a second request: %r" % second
    finally:
        conn.close()


def test_nothing_was_created_by_the_malformed_requests(server, org):
    # Every case above was refused, so no control plane exists in the organization.
    resp = server.request("GET", "/v2/control-planes", token=org["token"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["data"] == [], resp.json()


def test_server_is_still_alive(server):
    assert server.proc.poll() is None, server.stderr()[-4000:]
    assert server.request("GET", "/healthz").json() == {"status": "ok"}
    assert '"internal error"' not in server.stderr()
    assert '"status":5' not in server.stdout(), [l for l in server.stdout().splitlines() if '"status":5' in l][:5]
