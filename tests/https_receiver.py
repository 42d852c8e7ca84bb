"""A webhook receiver over https for the tests: serves POST on 127.0.0.1
with the certificate and key given, prints the port it listens on, then
each request as one JSON line ({"path", "headers", "body"}), and answers
200.

    python3 tests/https_receiver.py CERT KEY
"""

import json
import ssl
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        print(json.dumps({"path": self.path, "headers": dict(self.headers), "body": body.decode()}), flush=True)
        self.send_response(200)
        self.send_header("Content-Length", "6")
        self.end_headers()
        self.wfile.write(b"thanks")

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Receiver)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
