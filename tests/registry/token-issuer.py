#!/usr/bin/env python3
"""tests/registry/token-issuer.py — a Docker registry token server for tests.

    token-issuer.py --dir DIR --users FILE [--expires-in SECONDS]
                    [--service NAME] [--issuer NAME]

Makes an RSA key and a self-signed certificate for it in DIR (key.pem,
cert.pem: the registry's `auth.token.rootcertbundle`), binds 127.0.0.1 on
a free port, writes the port to DIR/port (after the bind, so a reader never
races it) and serves GET and POST (OAuth2 password grant) token requests
on any path.

USERS holds `user:password` lines.  A request with Basic credentials from
that file gets an RS256 JWT granting the repository actions it asked for
(`scope=repository:NAME:ACTIONS`, repeatable); wrong credentials get 401;
no credentials get an anonymous token that grants nothing (as Docker Hub
does), so the registry answers the client `insufficient_scope`.

The JWT header carries the key id in libtrust's format, which Debian's
docker-registry (distribution 2.8) needs: SHA-256 of the key's
SubjectPublicKeyInfo DER, first 240 bits, base32, twelve groups of four
characters joined by ":".  `aud` is the service as a string (2.8 rejects an
array), `iss` the issuer.  The answer has `token`, `access_token`,
`expires_in` and `issued_at`; the claims' `exp` is iat + expires_in.

Every request is logged as one JSON line to DIR/requests.log: method, path,
account (the user name, never the password), service, the scopes asked
for, and the status answered.  Tests count token requests with it.
"""
import argparse
import base64
import datetime
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_kid(public_key):
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = __import__("hashlib").sha256(der).digest()[:30]
    b32 = base64.b32encode(digest).decode().rstrip("=")
    return ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


def make_key(directory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "skiff test token issuer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .sign(key, hashes.SHA256()))
    with open(os.path.join(directory, "key.pem"), "wb") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(os.path.join(directory, "cert.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return key


def parse_scope(scope):
    """repository:NAME:a,b -> (type, name, [actions]); NAME may hold ':'
    only as a registry port, which repository names never have."""
    parts = scope.split(":")
    if len(parts) < 3:
        return None
    return parts[0], ":".join(parts[1:-1]), [a for a in parts[-1].split(",") if a]


class Issuer:
    def __init__(self, args):
        self.args = args
        self.key = make_key(args.dir)
        self.kid = libtrust_kid(self.key.public_key())
        self.users = {}
        with open(args.users) as f:
            for line in f:
                line = line.rstrip("\n")
                if ":" in line:
                    u, p = line.split(":", 1)
                    self.users[u] = p
        self.log_lock = threading.Lock()
        self.log_path = os.path.join(args.dir, "requests.log")

    def log(self, entry):
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")

    def token(self, account, scopes, service):
        now = int(time.time())
        access = []
        if account is not None:
            for s in scopes:
                p = parse_scope(s)
                if p:
                    access.append({"type": p[0], "name": p[1], "actions": p[2]})
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        claims = {"iss": self.args.issuer, "sub": account or "", "aud": service,
                  "exp": now + self.args.expires_in, "nbf": now - 1, "iat": now,
                  "jti": uuid.uuid4().hex, "access": access}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode()))
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(sig), now


def make_handler(issuer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):  # the JSON log is enough
            pass

        def answer(self, status, body, extra=None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def credentials(self, form):
            """(account, ok): account None when none were given."""
            h = self.headers.get("Authorization", "")
            if h.lower().startswith("basic "):
                try:
                    user, _, pw = base64.b64decode(h[6:].strip()).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    return "?", False
                return user, issuer.users.get(user) == pw
            if form.get("grant_type", [""])[0] == "password":
                user = form.get("username", [""])[0]
                pw = form.get("password", [""])[0]
                return user, issuer.users.get(user) == pw
            return None, True

        def handle_token(self, form):
            query = parse_qs(urlsplit(self.path).query)
            merged = {**query, **form}
            scopes = []
            for s in merged.get("scope", []):
                scopes.extend(s.split(" "))
            service = merged.get("service", [issuer.args.service])[0]
            account, good = self.credentials(form)
            entry = {"method": self.command, "path": urlsplit(self.path).path,
                     "account": account, "service": service, "scopes": scopes,
                     "grant_type": merged.get("grant_type", [""])[0]}
            if not good:
                entry["status"] = 401
                issuer.log(entry)
                self.answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                              "message": "bad user name or password"}]},
                            {"WWW-Authenticate": 'Basic realm="skiff-test-issuer"'})
                return
            tok, now = issuer.token(account, scopes, service)
            entry["status"] = 200
            issuer.log(entry)
            self.answer(200, {"token": tok, "access_token": tok,
                              "expires_in": issuer.args.expires_in,
                              "issued_at": datetime.datetime.fromtimestamp(
                                  now, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})

        def do_GET(self):
            self.handle_token({})

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode(errors="replace") if n else ""
            self.handle_token(parse_qs(body))

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--users", required=True)
    ap.add_argument("--expires-in", type=int, default=300)
    ap.add_argument("--service", default="skiff-test-registry")
    ap.add_argument("--issuer", default="skiff-test-issuer")
    args = ap.parse_args()
    issuer = Issuer(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(issuer))
    server.daemon_threads = True
    tmp = os.path.join(args.dir, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, os.path.join(args.dir, "port"))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
