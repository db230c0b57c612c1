#!/usr/bin/python3
"""Writes the jwt plugin's unit-test fixtures into this directory: keys, JWKS files and tokens.

Tokens are minted twice for every algorithm, by PyJWT and by the `openssl` command, plus the
attack matrix. Times are fixed far in the past or future, so the tests are deterministic.
Run again (with Debian's /usr/bin/python3: python3-jwt, python3-cryptography) to regenerate;
keys are kept when present.
"""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import tempfile

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HERE = os.path.dirname(os.path.abspath(__file__))
FUTURE = 4102444800  # 2100-01-01
PAST = 1000000000    # 2001-09-09
SECRET = "fixture-secret-fixture-secret-fixture-secret-0123456789abcdef-hs512"  # HS512 needs 64
CLAIMS = {"iss": "https://issuer.test", "aud": "api", "sub": "alice", "exp": FUTURE,
          "nbf": PAST, "iat": PAST, "scope": "read write", "email": "alice@example.test"}

KEYS = {  # name -> openssl genpkey arguments
    "rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "rsa2": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "rsa1024": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
    "p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "p384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    "ed25519": ["-algorithm", "ED25519"],
}
ALG_KEY = {"RS256": "rsa", "RS384": "rsa", "RS512": "rsa", "PS256": "rsa", "PS384": "rsa",
           "PS512": "rsa", "ES256": "p256", "ES384": "p384", "EdDSA": "ed25519"}


def path(name):
    return os.path.join(HERE, name)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_keys():
    for name, args in KEYS.items():
        if not os.path.exists(path(name + ".key")):
            subprocess.run(["openssl", "genpkey", *args, "-out", path(name + ".key")], check=True)
        subprocess.run(["openssl", "pkey", "-in", path(name + ".key"), "-pubout",
                        "-out", path(name + ".pub.pem")], check=True)


def private(name):
    with open(path(name + ".key"), "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def jwk(name, kid):
    key = json.loads(jwt.algorithms.get_default_algorithms()[
        {"rsa": "RS256", "rsa2": "RS256", "p256": "ES256", "p384": "ES384",
         "ed25519": "EdDSA"}[name]].to_jwk(private(name).public_key()))
    key["kid"] = kid
    key["use"] = "sig"
    return key


def openssl_sign(alg, input_bytes):
    """Signs with the openssl command; returns the JWS signature bytes."""
    with tempfile.NamedTemporaryFile() as data:
        data.write(input_bytes)
        data.flush()
        if alg.startswith("HS"):
            out = subprocess.run(["openssl", "dgst", "-sha" + alg[2:], "-binary", "-mac", "HMAC",
                                  "-macopt", "key:" + SECRET, data.name],
                                 check=True, capture_output=True).stdout
            return out
        key = path(ALG_KEY[alg] + ".key")
        if alg == "EdDSA":
            return subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key,
                                   "-in", data.name], check=True, capture_output=True).stdout
        args = ["openssl", "dgst", "-sha" + alg[2:], "-binary", "-sign", key]
        if alg.startswith("PS"):
            args += ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest",
                     "-sigopt", "rsa_mgf1_md:sha" + alg[2:]]
        out = subprocess.run(args + [data.name], check=True, capture_output=True).stdout
        if alg.startswith("ES"):
            width = {"ES256": 32, "ES384": 48}[alg]
            r, s = decode_dss_signature(out)
            out = r.to_bytes(width, "big") + s.to_bytes(width, "big")
        return out


def raw_token(header, claims, sign):
    """A token from raw JSON text (so duplicate keys survive), signed by `sign(input)`."""
    head = b64(header.encode() if isinstance(header, str) else json.dumps(header).encode())
    body = b64(claims.encode() if isinstance(claims, str) else json.dumps(claims).encode())
    signing_input = (head + "." + body).encode()
    return head + "." + body + "." + b64(sign(signing_input))


def hs256(secret):
    return lambda data: hmac.new(secret, data, hashlib.sha256).digest()


def main():
    make_keys()
    jwks = {"keys": [jwk("rsa", "rsa-1"), jwk("p256", "ec-1"), jwk("p384", "ec-2"),
                     jwk("ed25519", "ed-1")]}
    rotated = {"keys": [jwk("rsa2", "rsa-2"), jwk("p256", "ec-1")]}
    # A JWKS as an identity provider's export sometimes is: private members included.
    with_private = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private("rsa")))
    with_private.update(kid="rsa-1", use="sig")
    del with_private["key_ops"]  # PyJWT writes ["sign"]: this key is to be used for verifying
    for name, doc in [("jwks.json", jwks), ("jwks_rotated.json", rotated),
                      ("jwks_private.json", {"keys": [with_private]})]:
        with open(path(name), "w") as f:
            json.dump(doc, f, indent=1)

    tokens = {}
    for alg in ["HS256", "HS384", "HS512"]:
        tokens["pyjwt_" + alg] = jwt.encode(CLAIMS, SECRET, algorithm=alg)
        tokens["openssl_" + alg] = raw_token({"alg": alg, "typ": "JWT"}, CLAIMS,
                                             lambda d, a=alg: openssl_sign(a, d))
    kids = {"rsa": "rsa-1", "p256": "ec-1", "p384": "ec-2", "ed25519": "ed-1"}
    for alg, key in ALG_KEY.items():
        tokens["pyjwt_" + alg] = jwt.encode(CLAIMS, private(key), algorithm=alg,
                                            headers={"kid": kids[key]})
        tokens["openssl_" + alg] = raw_token({"alg": alg, "kid": kids[key]}, CLAIMS,
                                             lambda d, a=alg: openssl_sign(a, d))

    rsa = private("rsa")
    def rs(claims, headers=None, key=rsa):
        return jwt.encode(claims, key, algorithm="RS256", headers=headers or {"kid": "rsa-1"})
    with open(path("rsa.pub.pem"), "rb") as f:
        rsa_pem = f.read()
    big = dict(CLAIMS, padding="x" * (64 * 1024))
    good = tokens["pyjwt_RS256"]
    head, body, sig = good.split(".")
    tokens.update({
        "alg_none": raw_token({"alg": "none"}, CLAIMS, lambda d: b""),
        "alg_none_with_signature": raw_token({"alg": "none"}, CLAIMS, lambda d: b"x" * 32),
        "hs256_with_rsa_public_key": raw_token({"alg": "HS256", "kid": "rsa-1"}, CLAIMS,
                                               hs256(rsa_pem)),
        "wrong_kid": rs(CLAIMS, {"kid": "unknown"}),
        "expired": rs(dict(CLAIMS, exp=PAST + 60)),
        "not_yet_valid": rs(dict(CLAIMS, nbf=FUTURE - 60)),
        "issued_in_future": rs(dict(CLAIMS, iat=FUTURE - 60)),
        "wrong_iss": rs(dict(CLAIMS, iss="https://evil.test")),
        "wrong_aud": rs(dict(CLAIMS, aud="other")),
        "aud_list": rs(dict(CLAIMS, aud=["other", "api"])),
        "missing_scope": rs(dict(CLAIMS, scope="read")),
        "scp_list": rs(dict({k: v for k, v in CLAIMS.items() if k != "scope"},
                            scp=["read", "write"])),
        "no_exp": rs({k: v for k, v in CLAIMS.items() if k != "exp"}),
        "no_sub": rs({k: v for k, v in CLAIMS.items() if k != "sub"}),
        "claims_with_crlf": rs(dict(CLAIMS, email="a@b.test\r\nX-Admin: 1")),
        "bad_base64_padding": head + "." + body + "==." + sig,
        "bad_base64_char": head + "." + body[:-2] + "+/" + "." + sig,
        "truncated_signature": head + "." + body + "." + b64(
            base64.urlsafe_b64decode(sig + "==")[:-3]),
        "big_64k": rs(big),
        "duplicate_header_keys": raw_token('{"alg":"RS256","kid":"rsa-1","alg":"HS256"}',
                                           json.dumps(CLAIMS), lambda d: rsa.sign(
                                               d, *_pkcs1_sha256())),
        "duplicate_claim_keys": raw_token({"alg": "RS256", "kid": "rsa-1"},
                                          '{"sub":"alice","sub":"admin","exp":%d}' % FUTURE,
                                          lambda d: rsa.sign(d, *_pkcs1_sha256())),
        "rotated_key": rs(CLAIMS, {"kid": "rsa-2"}, key=private("rsa2")),
        "signed_by_1024_bit_key": rs(CLAIMS, {"kid": "rsa-1"}, key=private("rsa1024")),
    })
    with open(path("tokens.json"), "w") as f:
        json.dump(tokens, f, indent=1, sort_keys=True)
    with open(path("secret.txt"), "w") as f:
        f.write(SECRET)


def _pkcs1_sha256():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    return padding.PKCS1v15(), hashes.SHA256()


if __name__ == "__main__":
    main()
