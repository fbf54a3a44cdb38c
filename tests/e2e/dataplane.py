"""An emulated Kong data plane, written from Kong's hybrid-mode protocol ("sync v1", see
../shared/kong/dp-protocol.md): it connects to /v1/outlet over TLS with a client certificate,
sends basic_info, inflates `reconfigure` frames and pings with the hash of the configuration it
holds. Used by the data-plane tests and the data-plane benchmark."""
import asyncio
import datetime
import gzip
import json
import ssl
import uuid

import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

EMPTY_HASH = "0" * 32

# What Kong 3.10's bundled plugins look like in basic_info (names sorted, as Kong sends them).
BUNDLED_PLUGINS = sorted([
    "acl", "basic-auth", "bot-detection", "correlation-id", "cors", "file-log", "hmac-auth", "http-log",
    "ip-restriction", "jwt", "key-auth", "opentelemetry", "post-function", "pre-function", "prometheus",
    "proxy-cache", "rate-limiting", "request-size-limiting", "request-termination", "request-transformer",
    "response-ratelimiting", "response-transformer", "tcp-log",
])


def make_ca(common_name="dp-ca"):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def make_client_cert(common_name="kong-dp", ca=None, days=30):
    """A client certificate and key (PEM strings): self-signed, or signed by `ca` (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    issuer_name, signing_key = (ca[0].subject, ca[1]) if ca else (name, key)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(signing_key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def pem_of(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class Refused(Exception):
    """The control plane answered the upgrade request with an HTTP error."""

    def __init__(self, status, body):
        super().__init__("refused with %s: %s" % (status, body))
        self.status = status
        self.body = body


class DataPlane:
    """One emulated data plane. `cert_file`/`key_file`: its client certificate (None: none);
    `trust`: the PEM file of the control plane's cluster certificate."""

    def __init__(self, port, trust, cert_file=None, key_file=None, node_id=None, version="3.10.0",
                 hostname="dp.example", plugins=BUNDLED_PLUGINS, server_name="localhost", labels=None,
                 query=None):
        self.port = port
        self.node_id = node_id or str(uuid.uuid4())
        self.version = version
        self.hostname = hostname
        self.plugins = plugins
        self.labels = labels or {}
        self.server_name = server_name
        self.query = query
        self.ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=trust)
        self.ctx.check_hostname = False  # the cluster certificate names localhost; server_name may pick a CP
        if cert_file:
            self.ctx.load_cert_chain(cert_file, key_file)
        self.ws = None
        self.config_hash = EMPTY_HASH
        self.configs = []  # every reconfigure message received, inflated
        self.fragments = 0  # frames that were part of a fragmented message

    @property
    def url(self):
        if self.query is not None:
            return "wss://127.0.0.1:%d/v1/outlet%s" % (self.port, self.query)
        return "wss://127.0.0.1:%d/v1/outlet?node_id=%s&node_hostname=%s&node_version=%s" % (
            self.port, self.node_id, self.hostname, self.version)

    async def connect(self, basic_info=True):
        try:
            self.ws = await websockets.connect(self.url, ssl=self.ctx, server_hostname=self.server_name,
                                               ping_interval=None, max_size=16 * 1024 * 1024, open_timeout=10,
                                               compression=None)
        except websockets.exceptions.InvalidStatusCode as e:
            body = getattr(e, "body", None)
            raise Refused(e.status_code, body) from None
        self._count_fragments()
        if basic_info:
            await self.send_json({"type": "basic_info",
                                  "plugins": [{"name": p, "version": self.version} for p in self.plugins],
                                  "labels": self.labels, "process_conf": {}, "filters": {}})
        return self

    def _count_fragments(self):
        """Kong's data plane reads with lua-resty-websocket's recv_frame, one frame at a time, and
        treats a non-final fragment as an error: a message must arrive as one frame. websockets
        reassembles fragments silently, so the frames are counted on their way in."""
        read_data_frame = self.ws.read_data_frame

        async def counting(max_size):
            frame = await read_data_frame(max_size)
            if frame is not None and (not frame.fin or frame.opcode == 0):
                self.fragments += 1
            return frame

        self.ws.read_data_frame = counting

    async def send_json(self, message):
        await self.ws.send(json.dumps(message).encode())

    async def receive_config(self, timeout=10):
        """The next reconfigure message; applies it (its hash becomes ours) and pings, as Kong does."""
        frame = await asyncio.wait_for(self.ws.recv(), timeout)
        assert isinstance(frame, bytes), "configuration frames are binary"
        assert self.fragments == 0, "a message arrived in fragments: Kong's recv_frame needs one frame per message"
        message = json.loads(gzip.decompress(frame))
        assert message["type"] == "reconfigure"
        self.configs.append(message)
        self.config_hash = message["config_hash"]
        await self.ping()
        return message

    async def ping(self, payload=None):
        waiter = await self.ws.ping((payload or self.config_hash).encode())
        await asyncio.wait_for(waiter, 10)

    async def expect_nothing(self, seconds):
        """Asserts that no frame arrives for `seconds`."""
        try:
            frame = await asyncio.wait_for(self.ws.recv(), seconds)
        except asyncio.TimeoutError:
            return
        raise AssertionError("unexpected frame: %r" % (frame[:200],))

    async def close(self):
        if self.ws:
            await self.ws.close()


def raw_upgrade(port, trust, cert_file=None, key_file=None, path="/v1/outlet", query="", server_name="localhost",
                timeout=5):
    """A WebSocket upgrade request over TLS, read to the end: (status, body bytes), for refusals
    (the WebSocket client library does not keep a refused upgrade's body)."""
    import socket
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=trust)
    ctx.check_hostname = False
    if cert_file:
        ctx.load_cert_chain(cert_file, key_file)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as s:
            s.sendall(("GET %s%s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                       % (path, query)).encode())
            data = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except (ssl.SSLError, ConnectionResetError):
                    break
                if not chunk:
                    break
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else None
    return status, body
