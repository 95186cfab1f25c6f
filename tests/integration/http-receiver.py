#!/usr/bin/env python3
"""A webhook receiver for events.t: listens on 127.0.0.1 (a free port,
written to PORTFILE once it listens) and appends each request it gets to
LOG as one JSON line: {"method", "path", "headers", "body", "status"}.
With --fail-first N, the first N requests are answered 500 (to test the
sender's retry); the others 204."""
import argparse
import json
import http.server
import os
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("portfile")
    ap.add_argument("log")
    ap.add_argument("--fail-first", type=int, default=0)
    args = ap.parse_args()
    seen = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode("utf-8", "replace")
            seen[0] += 1
            status = 500 if seen[0] <= args.fail_first else 204
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = body
            with open(args.log, "a") as f:
                f.write(json.dumps({"method": "POST", "path": self.path,
                                    "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": parsed, "status": status}) + "\n")
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    tmp = args.portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.portfile)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
