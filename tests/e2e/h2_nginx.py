"""nginx (Debian's, built --with-http_v2_module) serving HTTP/2 for test_http2.py.

One instance, four listeners on 127.0.0.1, each on its own free port:
    tls_h2   `listen ... ssl http2`  (ALPN h2 and http/1.1)
    tls_h1   `listen ... ssl`        (no h2 offered: ALPN falls back to http/1.1)
    h2c      `listen ... http2`      (no TLS: prior-knowledge h2c only, nginx 1.22)
    h1       `listen ...`            (plain HTTP/1.1)
Every location answers 200 "ok\\n", except /echo, which answers with the request's body
(the echo module, libnginx-mod-http-echo, when installed: `has_echo`), /files/ (static
files under PREFIX/html/files: `add_file`), /redirect/ (302 to /landed/), /cookies/ (two
Set-Cookie fields) and /nocontent/ (204).

Access log, one line per request:
    $server_port $server_protocol $connection $connection_requests $status
    $request_length $bytes_sent "$request"
`lines(path_prefix)` parses it; the prefix keeps each test's requests apart.
"""

import os
import subprocess
import time
from pathlib import Path

import pytest

import servers
from conftest import NGINX, Nginx

ECHO_MODULE = "/usr/lib/nginx/modules/ngx_http_echo_module.so"

CONF = """\
{user}{load_echo}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log notice;
worker_rlimit_nofile 4096;
events {{
    worker_connections 2048;
}}
http {{
    log_format h2 '$server_port $server_protocol $connection $connection_requests '
                  '$status $request_length $bytes_sent "$request"';
    access_log {prefix}/logs/access.log h2;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    client_body_buffer_size 1m;
    client_max_body_size 8m;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    http2_max_concurrent_streams 128;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    server {{
        listen 127.0.0.1:{tls_h2} ssl http2;
        listen 127.0.0.1:{tls_h1} ssl;
        listen 127.0.0.1:{h2c} http2;
        listen 127.0.0.1:{h1};
        server_name _;
        location / {{
            default_type text/plain;
            return 200 "ok\\n";
        }}
        location /files/ {{
            root {prefix}/html;
        }}
        location /redirect/ {{
            return 302 /landed/;
        }}
        location /cookies/ {{
            add_header Set-Cookie "a=1; Path=/";
            add_header Set-Cookie "b=2; Path=/";
            default_type text/plain;
            return 200 "cookies\\n";
        }}
        location /nocontent/ {{
            return 204;
        }}
{echo}    }}
}}
"""

ECHO_LOCATION = """\
        location /echo {
            default_type application/octet-stream;
            echo_read_request_body;
            echo_request_body;
        }
"""


class H2Nginx(Nginx):
    """conftest.Nginx (stop, logs, access_lines) with the four listeners above."""

    def __init__(self, prefix, cert, key):
        super().__init__(prefix, ipv6=False)
        self.cert, self.key = cert, key
        self.ports = {}
        self.has_echo = os.path.exists(ECHO_MODULE)

    def url(self, listener, path="/"):
        scheme = "https" if listener.startswith("tls") else "http"
        return f"{scheme}://127.0.0.1:{self.ports[listener]}{path}"

    def start(self):
        if not os.access(NGINX, os.X_OK):
            pytest.fail(f"{NGINX} not found", pytrace=False)
        for d in ("logs", "tmp", "conf", "html/files"):
            (self.prefix / d).mkdir(parents=True, exist_ok=True)
        last = ""
        for _attempt in range(5):
            ports = set()
            while len(ports) < 4:
                ports.add(servers.free_port())
            self.ports = dict(zip(("tls_h2", "tls_h1", "h2c", "h1"), sorted(ports)))
            self.port = self.ports["h1"]
            conf = self.prefix / "conf" / "nginx.conf"
            conf.write_text(CONF.format(
                user="user root;\n" if os.geteuid() == 0 else "",
                load_echo=f"load_module {ECHO_MODULE};\n" if self.has_echo else "",
                prefix=self.prefix, cert=self.cert, key=self.key,
                echo=ECHO_LOCATION if self.has_echo else "", **self.ports))
            with open(self.prefix / "logs" / "stderr.log", "ab") as err:
                self.proc = subprocess.Popen(
                    [NGINX, "-p", str(self.prefix) + "/", "-c", str(conf),
                     "-g", "daemon off;"],
                    stdin=subprocess.DEVNULL, stdout=err, stderr=err)
            if all(servers.wait_port("127.0.0.1", p, timeout=10, proc=self.proc)
                   for p in self.ports.values()):
                return self
            last = self.logs()
            self.stop()
        pytest.fail(f"nginx did not start\n{last}", pytrace=False)

    def add_file(self, name, data):
        """Serve data at /files/NAME."""
        (self.prefix / "html" / "files" / name).write_bytes(data)
        return f"/files/{name}"

    def lines(self, path_prefix, settle=True):
        """Parsed access-log lines whose request path starts with path_prefix:
        dicts port, proto, conn, conn_reqs, status, req_len, sent, method, path."""
        if settle:
            self.settled_count(quiet=0.2, timeout=3.0)
        out = []
        for line in self.access_lines():
            head, _, req = line.partition(' "')
            f = head.split()
            parts = req.rstrip('"').split(" ")
            if len(f) != 7 or len(parts) < 2 or not parts[1].startswith(path_prefix):
                continue
            out.append({"port": int(f[0]), "proto": f[1], "conn": int(f[2]),
                        "conn_reqs": int(f[3]), "status": int(f[4]), "req_len": int(f[5]),
                        "sent": int(f[6]), "method": parts[0], "path": parts[1]})
        return out


def start_h2_nginx(prefix, cert, key):
    return H2Nginx(Path(prefix), cert, key).start()


def wait_lines(nginx, path_prefix, n, timeout=3.0):
    """The access-log lines of path_prefix once there are n of them (or at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        got = nginx.lines(path_prefix, settle=False)
        if len(got) >= n or time.monotonic() > deadline:
            return nginx.lines(path_prefix)
        time.sleep(0.05)
