"""Speaking the Kafka protocol directly, for the two questions librdkafka cannot ask for us:
which API versions a broker serves (the version probe) and who leads a KRaft quorum.

One request per connection, framed as Kafka frames it (a 4-byte size, then the request
header and body), over TLS when the client's `security.protocol` says so. Everything is
bounded: one deadline for connect, send and answer together, and answers above
`MAX_ANSWER` bytes are refused. SASL listeners are not spoken to (the login handshake is
librdkafka's job): callers treat that as "not available".
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass

from engine.cluster.keystores import load_client_certificate
from engine.errors import ConnectionFailure

CLIENT_ID = b"ps-console"
# An ApiVersions or DescribeQuorum answer is a few hundred bytes; refuse nonsense.
MAX_ANSWER = 1 << 20


class WireError(ConnectionFailure):
    """An answer that is not what the protocol says it should be."""


def ssl_context(client_props: Mapping[str, str]) -> ssl.SSLContext:
    """A TLS context from librdkafka-named client settings: the CA (ssl.ca.location or the
    in-memory ssl.ca.pem a Java PKCS12 truststore becomes) and the client certificate, when
    there is one (PEM files, PEM text or a PKCS12 keystore: see `load_client_certificate`)."""
    ctx = ssl.create_default_context(cafile=client_props.get("ssl.ca.location") or None,
                                     cadata=client_props.get("ssl.ca.pem") or None)
    algo = client_props.get("ssl.endpoint.identification.algorithm", "https").lower()
    if algo == "none":
        ctx.check_hostname = False
    load_client_certificate(ctx, client_props)
    return ctx


def speaks_plain_protocol(client_props: Mapping[str, str]) -> bool:
    """True unless the listener wants a SASL login first."""
    return not client_props.get("security.protocol", "PLAINTEXT").upper().startswith("SASL")


def exchange(host: str, port: int, api_key: int, version: int, body: bytes,
             client_props: Mapping[str, str] | None = None, timeout: float = 5.0,
             flexible: bool = False) -> bytes:
    """Send one request and return the answer's body (after the response header).

    `flexible` requests use request header v2 and expect response header v1 (tagged
    fields). ConnectionFailure for any failure, within `timeout` seconds in all.
    """
    props = dict(client_props or {})
    protocol = props.get("security.protocol", "PLAINTEXT").upper()
    correlation_id = 0x50530000 | (api_key & 0xFFFF)
    header = struct.pack(">hhih", api_key, version, correlation_id, len(CLIENT_ID)) + CLIENT_ID
    if flexible:
        header += b"\x00"  # no tagged fields
    request = header + body
    deadline = time.monotonic() + timeout
    where = f"{host}:{port}"
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ConnectionFailure(f"broker at {where} unreachable: {exc}") from None
    try:
        sock: socket.socket = raw
        if protocol in ("SSL", "SASL_SSL"):
            _bounded(sock, deadline)
            sock = ssl_context(props).wrap_socket(raw, server_hostname=host)
        _bounded(sock, deadline)
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4, deadline, where))
        if not 4 <= size <= MAX_ANSWER:
            raise WireError(f"answer of implausible size {size} from {where}")
        payload = _recv_exact(sock, size, deadline, where)
    except (OSError, ssl.SSLError) as exc:
        raise ConnectionFailure(f"request to {where} failed: {exc}") from None
    finally:
        raw.close()
    reader = Reader(payload)
    if reader.int32() != correlation_id:
        raise WireError(f"answer from {where} for another request")
    if flexible:
        reader.skip_tags()
    return payload[reader.pos:]


def _bounded(sock: socket.socket, deadline: float) -> None:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    sock.settimeout(left)


def _recv_exact(sock: socket.socket, n: int, deadline: float, where: str) -> bytes:
    chunks: list[bytes] = []
    left = n
    while left > 0:
        _bounded(sock, deadline)  # the whole answer, not each read, within the deadline
        chunk = sock.recv(min(left, 65536))
        if not chunk:
            raise ConnectionFailure(f"{where} closed the connection before answering")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# -- encoding --------------------------------------------------------------------------------

def uvarint(n: int) -> bytes:
    """An unsigned varint, as the flexible versions write lengths and tags."""
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def compact_string(text: str) -> bytes:
    data = text.encode("utf-8")
    return uvarint(len(data) + 1) + data


def compact_array(items: list[bytes]) -> bytes:
    return uvarint(len(items) + 1) + b"".join(items)


# -- decoding --------------------------------------------------------------------------------

@dataclass
class Reader:
    """Reads protocol primitives from an answer, never past its end (WireError)."""

    data: bytes
    pos: int = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise WireError("answer truncated")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int16(self) -> int:
        return int(struct.unpack(">h", self.take(2))[0])

    def int32(self) -> int:
        return int(struct.unpack(">i", self.take(4))[0])

    def int64(self) -> int:
        return int(struct.unpack(">q", self.take(8))[0])

    def uvarint(self) -> int:
        value = shift = 0
        for _ in range(5):
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
        raise WireError("malformed varint")

    def compact_length(self) -> int:
        """The length of a compact string or array; -1 for null."""
        return self.uvarint() - 1

    def compact_string(self) -> str | None:
        length = self.compact_length()
        return None if length < 0 else self.take(length).decode("utf-8", "replace")

    def array_count(self) -> int:
        """A compact array's element count, bounded by what is left to read."""
        count = self.compact_length()
        if count > len(self.data) - self.pos:
            raise WireError("array longer than the answer")
        return max(count, 0)

    def skip_tags(self) -> None:
        for _ in range(self.array_count_tags()):
            self.uvarint()  # the tag
            self.take(self.uvarint())

    def array_count_tags(self) -> int:
        count = self.uvarint()
        if count > len(self.data) - self.pos:
            raise WireError("more tagged fields than bytes")
        return count
