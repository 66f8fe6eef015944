"""A small HTTP proxy on the lab LAN so lab nodes reach the Debian mirror, and nothing else.

Nodes have no route out of the lab; apt on them is pointed at this proxy (base_apt_proxy), which
forwards GET and HEAD requests for the recipe's mirrors only.
"""
import http.client
import http.server
import socketserver
import sys
from urllib.parse import urlsplit

import yaml

from hakvm_lab.image import RECIPE_FILE

PORT = 3142
HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


def allowed_hosts():
    recipe = yaml.safe_load(RECIPE_FILE.read_text())
    return {urlsplit(recipe[key]).hostname for key in ("mirror", "security_mirror")}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hosts = frozenset()

    def _forward(self):
        url = urlsplit(self.path)
        if url.scheme != "http" or url.hostname not in self.hosts:
            self.send_error(403, "hakvm-lab proxy serves the Debian mirrors only")
            return
        upstream = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=60)
        try:
            path = url.path + (f"?{url.query}" if url.query else "")
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            upstream.request(self.command, path, headers=headers)
            resp = upstream.getresponse()
            self.send_response(resp.status, resp.reason)
            for key, value in resp.getheaders():
                if key.lower() not in HOP_HEADERS:
                    self.send_header(key, value)
            body = resp.read() if self.command == "GET" else b""
            if resp.getheader("Content-Length") is None:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError as exc:
            self.send_error(502, f"upstream: {exc}")
        finally:
            upstream.close()

    do_GET = _forward
    do_HEAD = _forward

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(address):
    Handler.hosts = frozenset(allowed_hosts())
    with Server((address, PORT), Handler) as server:
        server.serve_forever()
