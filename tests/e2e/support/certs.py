"""Test certificates made at test time (python3-cryptography): a CA and leaf certificates for given
DNS names, EC P-256 or RSA 2048, written as PEM (private keys mode 0600), and client contexts
that trust the CA.

    ca = TestCA(tmp_path)
    leaf = ca.issue("api", ["api.test", "*.api.test"], key_type="rsa")
    leaf.cert, leaf.key, leaf.serial                  # paths and the serial number
    ctx = ca.client_context(maximum=ssl.TLSVersion.TLSv1_2)
    with ctx.wrap_socket(socket.create_connection(addr), server_hostname="api.test") as s:
        assert peer_info(s).serial == leaf.serial

Every file is written to a temporary name in its directory and renamed over the target, so a
gateway watching the directory never reads half a file (`issue(..., stem=existing)` replaces a
certificate in place, key first, then the certificate).
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=2)
BACKDATE = datetime.timedelta(hours=1)  # tolerates a little clock skew


def new_key(key_type: str = "ec"):
    """A fresh private key: "ec" (P-256) or "rsa" (2048 bits)."""
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"unknown key type {key_type!r} (ec or rsa)")


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> Path:
    """Writes `data` to a temporary file next to `path` (with `mode`, whatever the umask) and
    renames it over `path`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


@dataclass
class Leaf:
    """A certificate written to disk: `cert` (PEM, the leaf only) and `key` (PEM, 0600)."""
    cert: Path
    key: Path
    serial: int
    names: list[str]
    key_type: str
    certificate: x509.Certificate

    def config(self) -> str:
        """This certificate as an entry of `tls.certificates` (flow YAML)."""
        return f'{{cert: "{self.cert}", key: "{self.key}"}}'


@dataclass
class PeerInfo:
    serial: int
    names: list[str]  # subjectAltName DNS entries
    key_type: str     # "ec" or "rsa"


def cert_info(cert: x509.Certificate) -> PeerInfo:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = san.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    public = cert.public_key()
    kind = "ec" if isinstance(public, ec.EllipticCurvePublicKey) else \
        "rsa" if isinstance(public, rsa.RSAPublicKey) else type(public).__name__
    return PeerInfo(cert.serial_number, list(names), kind)


def peer_info(sock: ssl.SSLSocket) -> PeerInfo:
    """Serial, SAN DNS names and key type of the certificate the server presented."""
    der = sock.getpeercert(binary_form=True)
    assert der, "the server presented no certificate"
    return cert_info(x509.load_der_x509_certificate(der))


class TestCA:
    """A self-signed CA (EC P-256) in `directory` (ca.crt, ca.key) that issues leaves there."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, directory: Path, name: str = "turnpike e2e test CA"):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.key = new_key("ec")
        now = datetime.datetime.now(datetime.timezone.utc)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE).not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()),
                           critical=False)
            .sign(self.key, hashes.SHA256()))
        self.cert_path = write_atomically(self.directory / "ca.crt", cert_pem(self.certificate))
        self.key_path = write_atomically(self.directory / "ca.key", key_pem(self.key), 0o600)

    def issue(self, stem: str, names: Iterable[str], key_type: str = "ec",
              serial: Optional[int] = None, directory: Optional[Path] = None,
              key=None) -> Leaf:
        """A server certificate for the DNS `names` (and IP addresses, when a name parses as
        one), written as STEM.crt and STEM.key. `key` reuses a private key (else a new one)."""
        names = list(names)
        directory = Path(directory or self.directory)
        key = key or new_key(key_type)
        serial = serial or x509.random_serial_number()
        now = datetime.datetime.now(datetime.timezone.utc)
        alt = []
        for n in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                alt.append(x509.DNSName(n))
        cn = names[0] if names else stem
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - BACKDATE).not_valid_after(now + VALIDITY)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256()))
        key_path = write_atomically(directory / f"{stem}.key", key_pem(key), 0o600)
        cert_path = write_atomically(directory / f"{stem}.crt", cert_pem(cert))
        kind = "ec" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa"
        return Leaf(cert_path, key_path, serial, names, kind, cert)

    def client_context(self, **kwargs) -> ssl.SSLContext:
        return client_context(self.cert_path, **kwargs)


def client_context(ca_file: Path, check_hostname: bool = False,
                   minimum: Optional[ssl.TLSVersion] = None,
                   maximum: Optional[ssl.TLSVersion] = None,
                   ciphers: Optional[str] = None,
                   alpn: Optional[list[str]] = None) -> ssl.SSLContext:
    """A client context that verifies the server's chain against `ca_file` (the host name only
    with `check_hostname`: the SNI tests ask for names a certificate does not carry). `ciphers`
    sets the TLS 1.2 (and older) suites; "…:@SECLEVEL=0" lets old versions and suites through."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = check_hostname
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=str(ca_file))
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    if alpn is not None:
        ctx.set_alpn_protocols(alpn)
    return ctx
