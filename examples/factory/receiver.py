#!/usr/bin/env python3
"""A webhook receiver for the factory example: accepts POSTs of JSON alerts on
127.0.0.1:PORT and appends each body as one line to FILE.

  receiver.py PORT FILE"""
import http.server
import sys

PORT, FILE = int(sys.argv[1]), sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(FILE, "ab") as f:
            f.write(body.rstrip(b"\n") + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
