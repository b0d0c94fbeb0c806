"""HTTPS for the local API: a self-signed certificate made once and kept in the state dir.

There is no CA a panel on a building's LAN could get a certificate from, so the panel
makes its own (ECDSA P-256, ten years) and prints its SHA-256 fingerprint at start-up;
a client pins that fingerprint (panel.remote.PanelClient(fingerprint=...), curl's
--pinnedpubkey or a browser's certificate view). `api.tls = "auto"` turns it on when the
API listens beyond loopback, where a token in clear text could be read off the wire.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_FILE, KEY_FILE = "api-cert.pem", "api-key.pem"


def wanted(mode: str, host: str) -> bool:
    """Whether `api.tls` (auto/on/off) means HTTPS for an API listening on `host`."""
    if mode != "auto":
        return mode == "on"
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True             # a host name: reachable from elsewhere, as far as we know


def server_context(state_dir: Path, host: str) -> tuple[ssl.SSLContext, str]:
    """The API's TLS context and its certificate's fingerprint (made on first use)."""
    cert, key = state_dir / CERT_FILE, state_dir / KEY_FILE
    if not (cert.exists() and key.exists()):
        _make(cert, key, host)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
        return context, fingerprint(cert.read_bytes())
    except (ssl.SSLError, ValueError) as e:
        # Not made anew silently: clients pinned the old fingerprint and should hear of a new one.
        raise OSError(f"{cert} / {key}: not a certificate and key the API can use ({e}); delete both "
                      f"to make a new one (its fingerprint changes: tell the clients that pin it)") from None


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the certificate (DER), as openssl prints it: AB:CD:..."""
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def _make(cert_path: Path, key_path: Path, host: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"entry panel {socket.gethostname()}")])
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.DNSName(socket.gethostname()),
                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                     x509.IPAddress(ipaddress.ip_address("::1"))]
    try:
        address = ipaddress.ip_address(host)
        if not address.is_unspecified and not address.is_loopback:
            names.append(x509.IPAddress(address))
    except ValueError:
        if host and host != "localhost":
            names.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)     # the key: the panel's user only
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
