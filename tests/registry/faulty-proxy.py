#!/usr/bin/env python3
"""tests/registry/faulty-proxy.py — an HTTP proxy in front of a registry
that misbehaves on request, for the pull tests.

    faulty-proxy.py --dir DIR --upstream http://127.0.0.1:PORT

Binds 127.0.0.1 on a free port and writes it to DIR/port (after the bind).
Every request is forwarded unchanged to the upstream registry (headers
such as WWW-Authenticate, Location and Range included), unless a rule of
DIR/rules.json matches it.  The rules file is read again whenever it
changes; writing it (by rename) also resets the rules' counters:

    {"rules": [{"path": "REGEX", "method": "GET", "times": N,
                "action": ACTION, ...}]}

`path` is searched in the request path, `method` (optional) must be equal,
`times` (optional) limits the rule to the first N requests it matches.
The first matching rule applies.  ACTION is one of:

    status    answer {code} (default 503) at once, with {headers} (a dict,
              e.g. {"Retry-After": "1"}) and a small JSON error body
    delay     wait {seconds}, then forward
    cut       forward, announce the whole Content-Length, send {after}
              bytes of the body, close the connection
    stall     the same, but keep the connection open for up to {seconds}
              (default 60) after the {after} bytes; the log line is
              written when it stalls
    corrupt   flip the byte at {offset} (default 0) of the body
    truncate  pretend the blob ends after {bytes} bytes: a plain GET gets
              those bytes (with that Content-Length), a Range request
              starting at or past the end 416, one before it the rest up
              to the end (206, Content-Range saying the short length) —
              so resuming never gets the missing part
    huge      answer 200 with a JSON manifest of {size} bytes (default
              6 MiB) of the requested media type
    hang      read the request and never answer (for up to {seconds})
    rate      forward, sending the body at {bytes_per_second}
    headers   forward, with the answer's headers of the names in {headers}
              (a dict) replaced by these values

Each request appends one JSON line to DIR/requests.log: the method, path,
Range header, the action applied, the status sent and the body bytes sent.
"""
import argparse
import http.client
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
              "te", "trailer", "trailers", "transfer-encoding", "upgrade"}


class Rules:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.sig = None
        self.rules = []
        self.counts = []

    def match(self, method, path):
        with self.lock:
            try:
                st = os.stat(self.path)
                sig = (st.st_ino, st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                sig = None
            if sig != self.sig:
                self.sig = sig
                self.rules = []
                if sig is not None:
                    with open(self.path) as f:
                        self.rules = json.load(f).get("rules", [])
                self.counts = [0] * len(self.rules)
            for i, r in enumerate(self.rules):
                if "method" in r and r["method"] != method:
                    continue
                if not re.search(r.get("path", ""), path):
                    continue
                if "times" in r and self.counts[i] >= r["times"]:
                    continue
                self.counts[i] += 1
                return r
            return None


def make_handler(upstream, rules, log_path, stop):
    up = urlsplit(upstream)
    log_lock = threading.Lock()

    def log(entry):
        with log_lock, open(log_path, "a") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def wait(self, seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end and not stop.is_set():
                time.sleep(0.1)

        def entry(self, action, status, sent, **extra):
            e = {"method": self.command, "path": self.path,
                 "range": self.headers.get("Range"), "action": action,
                 "status": status, "bytes": sent}
            e.update(extra)
            log(e)

        def send_head(self, status, headers, length):
            self.send_response(status)
            for k, v in headers:
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(length))
            self.end_headers()

        def forward(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
            # Header by header: a client sends several Accept lines, all kept.
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            return resp.status, resp.getheaders(), data

        def handle_any(self):
            rule = rules.match(self.command, self.path)
            action = rule.get("action") if rule else None
            if action == "status":
                code = int(rule.get("code", 503))
                data = json.dumps({"errors": [{"code": "UNAVAILABLE",
                                               "message": "faulty-proxy says %d" % code}]}).encode()
                hdrs = [("Content-Type", "application/json")] + list(rule.get("headers", {}).items())
                self.send_head(code, hdrs, len(data))
                if self.command != "HEAD":
                    self.wfile.write(data)
                self.entry(action, code, len(data))
                return
            if action == "hang":
                self.entry(action, None, 0)
                self.wait(float(rule.get("seconds", 120)))
                self.close_connection = True
                return
            if action == "huge":
                size = int(rule.get("size", 6 << 20))
                accept = self.headers.get("Accept", "")
                mt = "application/vnd.oci.image.manifest.v1+json"
                if "docker.distribution.manifest.v2" in accept and "oci" not in accept:
                    mt = "application/vnd.docker.distribution.manifest.v2+json"
                head = json.dumps({"schemaVersion": 2, "mediaType": mt,
                                   "annotations": {"pad": ""}})[:-3]
                data = (head + "x" * max(0, size - len(head) - 3) + '"}}').encode()
                self.send_head(200, [("Content-Type", mt)], len(data))
                if self.command != "HEAD":
                    self.wfile.write(data)
                self.entry(action, 200, len(data))
                return
            if action == "delay":
                self.wait(float(rule.get("seconds", 1)))
            status, headers, data = self.forward()
            if self.command == "HEAD":
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in HOP_BY_HOP:
                        self.send_header(k, v)
                self.end_headers()
                self.entry(action, status, 0)
                return
            if action == "headers":
                names = {k.lower() for k in rule.get("headers", {})}
                headers = [(k, v) for k, v in headers if k.lower() not in names] + \
                    list(rule.get("headers", {}).items())
            if action == "corrupt" and data:
                off = min(int(rule.get("offset", 0)), len(data) - 1)
                data = data[:off] + bytes([data[off] ^ 0xFF]) + data[off + 1:]
            if action == "truncate":
                end = int(rule.get("bytes", len(data) // 2))
                m = re.match(r"bytes=(\d+)-", self.headers.get("Range") or "")
                start = int(m.group(1)) if m and status == 206 else 0
                headers = [(k, v) for k, v in headers if k.lower() != "content-range"]
                if start >= end and start > 0:
                    self.send_head(416, [("Content-Range", "bytes */%d" % end)], 0)
                    self.entry(action, 416, 0)
                    return
                data = data[:end - start]
                if status == 206:
                    headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end - 1, end)))
            if action in ("cut", "stall"):
                after = min(int(rule.get("after", 0)), len(data))
                self.send_head(status, headers, len(data))
                self.wfile.write(data[:after])
                self.wfile.flush()
                self.entry(action, status, after, stalled=(action == "stall"))
                if action == "stall":
                    self.wait(float(rule.get("seconds", 60)))
                self.close_connection = True
                return
            self.send_head(status, headers, len(data))
            if action == "rate":
                bps = max(1, int(rule.get("bytes_per_second", 1 << 20)))
                chunk = max(1, bps // 10)
                for i in range(0, len(data), chunk):
                    self.wfile.write(data[i:i + chunk])
                    self.wfile.flush()
                    time.sleep(len(data[i:i + chunk]) / bps)
            else:
                self.wfile.write(data)
            self.entry(action, status, len(data))

        def do_GET(self):
            self.handle_any()

        do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--upstream", required=True)
    args = ap.parse_args()
    stop = threading.Event()
    rules = Rules(os.path.join(args.dir, "rules.json"))
    handler = make_handler(args.upstream, rules, os.path.join(args.dir, "requests.log"), stop)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    tmp = os.path.join(args.dir, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, os.path.join(args.dir, "port"))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
