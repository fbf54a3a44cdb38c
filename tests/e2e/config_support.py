"""Shared helpers of the gateway-configuration suites (test_config_*.py): PEM material made
once per run, a minimal valid body per entity, a client bound to one control plane, and the
check of every 2xx body against the Control Plane Configuration spec's response schema."""
import base64
import datetime
import functools
import json
import re
import uuid

import pytest

from conftest import _openapi_nullable, load_spec, uniq

SPEC = "control-planes-config_v2.yaml"
BASE = "/control-planes/{controlPlaneId}/core-entities"


# --- PEM material ----------------------------------------------------------------------------


def new_ca():
    """A CA certificate of its own (CA certificates are unique by digest)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    k = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ca-%s.example.com" % uuid.uuid4().hex[:8])])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(k, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _b64url_int(n):
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@functools.lru_cache(maxsize=None)
def pem():
    """Certificates and keys for the suites: an RSA and an EC leaf (cert + key), a CA, an
    expired CA, a non-CA, and a JWK of the RSA key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    def key_pem(k):
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption()).decode()

    def public_pem(k):
        return k.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def cert(k, cn, ca, days_from=-1, days_to=365):
        now = datetime.datetime.now(datetime.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        b = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now + datetime.timedelta(days=days_from))
             .not_valid_after(now + datetime.timedelta(days=days_to))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        return b.sign(k, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    numbers = rsa_key.public_key().public_numbers()
    return {
        "cert": cert(rsa_key, "leaf.example.com", False), "key": key_pem(rsa_key),
        "public_key": public_pem(rsa_key), "other_key": key_pem(other_rsa),
        "ec_cert": cert(ec_key, "ec.example.com", False), "ec_key": key_pem(ec_key),
        "ca": cert(other_rsa, "ca.example.com", True),
        "expired_ca": cert(ec_key, "old-ca.example.com", True, days_from=-30, days_to=-1),
        "jwk": {"kty": "RSA", "n": _b64url_int(numbers.n), "e": _b64url_int(numbers.e)},
    }


# --- spec response schemas ---------------------------------------------------------------------

_converted = {}


def operation_schema(method, template, status):
    """The response schema of one operation of the config spec (template as the spec spells it,
    e.g. BASE + "/services/{ServiceId}"), with $refs resolvable; None without ../shared."""
    if "doc" not in _converted:
        doc = load_spec(SPEC)
        if doc is None:
            return None
        _converted["doc"] = _openapi_nullable({"paths": doc["paths"], "components": doc["components"]})
    doc = _converted["doc"]
    response = doc["paths"][template][method.lower()]["responses"][str(status)]
    if "$ref" in response:  # "#/components/responses/<name>"
        response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = dict(response["content"]["application/json"]["schema"])
    schema["components"] = doc["components"]
    return schema


def validate_config(body, method, template, status):
    schema = operation_schema(method, template, status)
    if schema is None:
        pytest.skip("../shared/konnect specs absent: schema check skipped")
    import jsonschema
    jsonschema.validate(body, schema)
    return body


# --- a client bound to one control plane -------------------------------------------------------


class ControlPlaneClient:
    """Requests under /v2/control-planes/{id}/core-entities with one token."""

    def __init__(self, server, token, cp_id):
        self.server, self.token, self.cp_id = server, token, cp_id
        self.prefix = "/v2/control-planes/%s/core-entities" % cp_id

    def request(self, method, path, **kwargs):
        return self.server.request(method, self.prefix + path, token=self.token, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, json=body if body is not None else {}, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, json=body if body is not None else {}, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def create(self, path, body, spec_template=None):
        """POST that must succeed (201, body checked against the spec when a template is given)."""
        resp = self.post(path, body)
        assert resp.status_code == 201, "POST %s %s -> %d %s" % (path, body, resp.status_code, resp.text[:800])
        if spec_template:
            validate_config(resp.json(), "POST", spec_template, 201)
        return resp.json()

    def list_all(self, path, size=1000, params=None):
        """Every entity of a list, following `offset` as decK does."""
        out, offset = [], None
        for _ in range(10000):
            q = dict(params or {}, size=size)
            if offset:
                q["offset"] = offset
            resp = self.get(path, params=q)
            assert resp.status_code == 200, resp.text
            body = resp.json()
            out.extend(body["data"])
            offset = body.get("offset")
            if not offset:
                assert "next" not in body, body
                return out
        raise AssertionError("the list of %s never ended" % path)


def new_control_plane(server, token, name=None, **extra):
    resp = server.request("POST", "/v2/control-planes", token=token, json=dict({"name": name or uniq("cp")}, **extra))
    assert resp.status_code == 201, resp.text
    return resp.json()


def slug(prefix="x"):
    """A name valid for every entity's name rules (lower case, digits, '-')."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


# --- one valid body per entity ---------------------------------------------------------------------


def make_service(c, **extra):
    return c.create("/services", dict({"name": slug("svc"), "host": "backend.internal"}, **extra))


def make_route(c, service_id=None, **extra):
    body = dict({"name": slug("route"), "paths": ["/" + slug("p")]}, **extra)
    if service_id:
        body["service"] = {"id": service_id}
    return c.create("/routes", body)


def make_consumer(c, **extra):
    return c.create("/consumers", dict({"username": slug("user")}, **extra))


def make_certificate(c, **extra):
    return c.create("/certificates", dict({"cert": pem()["cert"], "key": pem()["key"]}, **extra))


def jwk_string(kid):
    return json.dumps(dict(pem()["jwk"], kid=kid))


# Entities writable at the top level: (path, spec item parameter, a factory of a valid body given
# the client (which may create what the body references), the endpoint key or None).
def top_level_entities():
    return [
        ("services", "ServiceId", lambda c: {"name": slug("svc"), "host": "backend.internal"}, "name"),
        ("routes", "RouteId", lambda c: {"name": slug("route"), "paths": ["/" + slug("p")]}, "name"),
        ("consumers", "ConsumerId", lambda c: {"username": slug("user")}, "username"),
        ("consumer_groups", "ConsumerGroupId", lambda c: {"name": slug("group")}, None),
        ("plugins", "PluginId", lambda c: {"name": "key-auth", "service": {"id": make_service(c)["id"]}}, None),
        ("upstreams", "UpstreamId", lambda c: {"name": slug("up") + ".internal"}, "name"),
        ("certificates", "CertificateId", lambda c: {"cert": pem()["cert"], "key": pem()["key"]}, None),
        ("snis", "SNIId", lambda c: {"name": slug("sni") + ".example.com",
                                      "certificate": {"id": make_certificate(c)["id"]}}, "name"),
        ("ca_certificates", "CACertificateId", lambda c: {"cert": new_ca()}, None),
        ("vaults", "VaultId", lambda c: {"name": "env", "prefix": slug("v"), "config": {"prefix": "SECRET_"}}, "prefix"),
        ("key-sets", "KeySetId", lambda c: {"name": slug("set")}, "name"),
        ("keys", "KeyId", lambda c: (lambda kid: {"name": slug("key"), "kid": kid, "jwk": jwk_string(kid)})(slug("kid")),
         "name"),
    ]


# Credentials: nested path segment, top-level list, spec item parameter, valid body.
def credentials():
    return [
        ("acls", "acls", "ACLId", lambda: {"group": slug("g")}),
        ("basic-auth", "basic-auths", "BasicAuthId", lambda: {"username": slug("u"), "password": "s3cret"}),
        ("hmac-auth", "hmac-auths", "HMACAuthId", lambda: {"username": slug("u")}),
        ("jwt", "jwts", "JWTId", lambda: {}),
        ("key-auth", "key-auths", "KeyAuthId", lambda: {}),
        ("mtls-auth", "mtls-auths", "MTLSAuthId", lambda: {"subject_name": slug("cn")}),
    ]


def id_param(template):
    return re.findall(r"\{(\w+)\}", template)[-1]
