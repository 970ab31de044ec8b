"""Asynchronous DNS (docs/scripting.md "DNS", docs/cli.md --dns, --dns-server).

Every run points stampede at FakeDNS, a UDP DNS server this file starts on 127.0.0.1, with
--dns-server, so the system's resolvers are never asked; the names it knows resolve to
loopback only:

    a.test      A 127.0.0.1
    slow.test   A 127.0.0.1, answered after 1.5 s
    v6.test     AAAA ::1 only (no A record)
    multi.test  A 127.0.0.1 and 127.0.0.2
    anything else (nx.test): NXDOMAIN
"""

import collections
import socket
import struct
import threading

import pytest

import servers
from conftest import EXIT_CONFIG, EXIT_THRESHOLDS, ERROR_CODES, errors_by_kind, metric
from script_servers import assert_checks_pass, column, run_script, series

TYPE_A, TYPE_AAAA = 1, 28
SLOW_DELAY = 1.5


class FakeDNS:
    """A UDP DNS server on 127.0.0.1, or ::1 (free port, background thread). `queries` counts
    the questions received by (name, "A"/"AAAA"); `server` is its --dns-server value."""

    ZONE = {
        "a.test": {TYPE_A: ["127.0.0.1"]},
        "slow.test": {TYPE_A: ["127.0.0.1"]},
        "v6.test": {TYPE_AAAA: ["::1"]},
        "multi.test": {TYPE_A: ["127.0.0.1", "127.0.0.2"]},
    }
    DELAY = {"slow.test": SLOW_DELAY}

    def __init__(self, host="127.0.0.1"):
        v6 = ":" in host
        self.sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.server = f"[{host}]:{self.port}" if v6 else f"{host}:{self.port}"
        self.queries = collections.Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timers = []
        self._thread = threading.Thread(target=self._run, name="FakeDNS", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        for t in self._timers:
            t.cancel()
        self.sock.close()

    def count(self, name, qtype="A"):
        with self._lock:
            return self.queries[(name, qtype)]

    def reset(self):
        with self._lock:
            self.queries.clear()

    def _run(self):
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self._answer(data, peer)
            except (IndexError, struct.error, UnicodeDecodeError):
                pass  # not a query we understand: no answer

    def _answer(self, data, peer):
        qid, flags = struct.unpack("!HH", data[:4])
        pos, labels = 12, []
        while data[pos]:
            n = data[pos]
            labels.append(data[pos + 1:pos + 1 + n].decode("ascii").lower())
            pos += 1 + n
        qtype, _qclass = struct.unpack("!HH", data[pos + 1:pos + 5])
        question = data[12:pos + 5]
        name = ".".join(labels)
        with self._lock:
            self.queries[(name, {TYPE_A: "A", TYPE_AAAA: "AAAA"}.get(qtype, str(qtype)))] += 1
        records = self.ZONE.get(name)
        rcode = 0 if records is not None else 3  # NXDOMAIN
        answers = b""
        addrs = (records or {}).get(qtype, [])
        for a in addrs:
            rdata = socket.inet_pton(socket.AF_INET if qtype == TYPE_A else socket.AF_INET6, a)
            answers += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 300, len(rdata)) + rdata
        # QR, the query's RD, RA; one question, the answers, no authority/additional
        reply = struct.pack("!HHHHHH", qid, 0x8080 | (flags & 0x0100) | rcode, 1, len(addrs),
                            0, 0) + question + answers
        delay = self.DELAY.get(name)
        if delay:
            t = threading.Timer(delay, self._send, (reply, peer))
            t.daemon = True
            self._timers.append(t)
            t.start()
        else:
            self._send(reply, peer)

    def _send(self, reply, peer):
        try:
            self.sock.sendto(reply, peer)
        except OSError:
            pass


@pytest.fixture
def dns():
    d = FakeDNS().start()
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture
def server():
    with servers.CountingServer() as s:
        yield s


def dns_flags(dns):
    return ("--dns-server", dns.server, "--threads", "1")


# --------------------------------------------------------------------------------------
# resolution, cache, ttl
# --------------------------------------------------------------------------------------
def test_script_host_resolves_through_the_dns_server_once(tmp_path, dns, server):
    """Every request opens a connection (noConnectionReuse), so each looks the host up: the
    default ttl (5m) answers all but the first from the cache."""
    r = run_script(tmp_path, f"""
        options = {{ iterations = 20, vus = 2, noConnectionReuse = true }}
        function default()
          local res = http.get("http://a.test:{server.port}/")
          stampede.check(res, {{ ["status 200"] = function(x) return x.status == 200 end }})
        end
    """, *dns_flags(dns))
    assert_checks_pass(r)
    assert metric(r.summary, "http_reqs")["count"] == 20
    assert server.requests == 20 and server.connections == 20
    assert dns.count("a.test", "A") == 1, dns.queries
    assert metric(r.summary, "http_req_failed")["rate"] == 0


@pytest.mark.parametrize("opts, flags, conns, queries", [
    # ttl 0: every new connection asks again
    ('noConnectionReuse = true, dns = { ttl = "0" }', (), 6, 6),
    # a reused keep-alive connection needs no lookup at all
    ("dns = { ttl = 0 }", (), 1, 1),
    # --dns overrides options.dns
    ('noConnectionReuse = true, dns = { ttl = "inf" }', ("--dns", "ttl=0"), 6, 6),
], ids=["ttl-0", "keep-alive", "cli-overrides-script"])
def test_dns_ttl(tmp_path, dns, server, opts, flags, conns, queries):
    r = run_script(tmp_path, f"""
        options = {{ iterations = 6, vus = 1, {opts} }}
        function default() http.get("http://a.test:{server.port}/") end
    """, *dns_flags(dns), *flags)
    assert metric(r.summary, "http_reqs")["count"] == 6
    assert server.requests == 6 and server.connections == conns
    assert dns.count("a.test", "A") == queries, dns.queries


# --------------------------------------------------------------------------------------
# failures
# --------------------------------------------------------------------------------------
def test_unresolvable_host_fails_each_request_with_dns_error(tmp_path, dns, server):
    r = run_script(tmp_path, f"""
        options = {{ iterations = 3, vus = 1, thresholds = {{ http_req_failed = {{ "rate<0.5" }} }} }}
        function default()
          local res = http.get("http://nx.test:{server.port}/")
          stampede.check(res, {{
            ["status 0"] = function(x) return x.status == 0 end,
            ["error_code 1101"] = function(x) return x.error_code == 1101 end,
            ["error text"] = function(x) return type(x.error) == "string" and x.error ~= "" end,
          }})
        end
    """, *dns_flags(dns), expect=EXIT_THRESHOLDS)
    assert_checks_pass(r)
    errs = errors_by_kind(r.summary)
    assert set(errs) == {"dns_error"}, r.summary["errors"]
    assert errs["dns_error"]["code"] == ERROR_CODES["dns_error"] == 1101
    assert errs["dns_error"]["count"] == 3
    assert metric(r.summary, "http_reqs")["count"] == 3
    assert metric(r.summary, "http_req_failed")["rate"] == 1
    assert server.requests == 0 and server.connections == 0
    assert dns.count("nx.test", "A") >= 1, dns.queries


def test_timeout_in_the_lookup_is_a_dns_error(tmp_path, dns, server):
    # --timeout ran out before the request could be sent: the phase's error (docs/cli.md),
    # a pre-connection kind, so http_reqs minus those still equals the server's count.
    r = run_script(tmp_path, f"""
        options = {{ iterations = 1, vus = 1 }}
        function default()
          local res = http.get("http://slow.test:{server.port}/", {{ timeout = "300ms" }})
          stampede.check(res, {{
            ["dns_error"] = function(x) return x.error_code == 1101 end,
            ["blocked in the lookup"] = function(x) return x.timings.blocked >= 300 end,
            ["no connect"] = function(x) return x.timings.connecting == 0 end,
          }})
        end
    """, *dns_flags(dns))
    assert_checks_pass(r)
    assert server.requests == 0 and server.connections == 0
    assert set(errors_by_kind(r.summary)) == {"dns_error"}, r.summary["errors"]


# --------------------------------------------------------------------------------------
# the lookup does not stall the worker
# --------------------------------------------------------------------------------------
def test_slow_lookup_does_not_stall_other_vus_of_the_worker(tmp_path, dns, server):
    """One worker thread: a VU waiting 1.5 s for slow.test must not stop the other VU, whose
    requests to an IP literal go on (before, getaddrinfo blocked the whole thread)."""
    r = run_script(tmp_path, f"""
        options = {{ scenarios = {{
          fast = {{ executor = "constant-vus", vus = 1, duration = "3s", exec = "fast" }},
          slow = {{ executor = "per-vu-iterations", vus = 1, iterations = 1, exec = "slow" }},
        }} }}
        function fast() http.get("http://127.0.0.1:{server.port}/fast") end
        function slow()
          local res = http.get("http://slow.test:{server.port}/slow")
          stampede.check(res, {{
            ["slow status 200"] = function(x) return x.status == 200 end,
            ["slow blocked >= 1500 ms"] = function(x) return x.timings.blocked >= 1500 end,
          }})
        end
    """, *dns_flags(dns), timeout=60)
    assert_checks_pass(r)
    fast = series(r.summary, "http_reqs", scenario="fast")
    assert fast, [s["tags"] for s in r.summary["timeseries"] if s["metric"] == "http_reqs"]
    first_second = sum(c for s in fast
                       for t, c in zip(column(s, "t"), column(s, "count")) if t < 1)
    # the slow lookup took the whole first second: the fast VU kept going meanwhile
    assert first_second > 20, [s["points"] for s in fast]
    slow = series(r.summary, "http_req_blocked", scenario="slow")
    assert slow and max(max(column(s, "max")) for s in slow) >= SLOW_DELAY * 1000, slow
    assert metric(r.summary, "http_req_blocked")["max"] >= SLOW_DELAY * 1000
    assert dns.count("slow.test", "A") == 1, dns.queries


# --------------------------------------------------------------------------------------
# select and policy
# --------------------------------------------------------------------------------------
@pytest.fixture
def two_servers():
    """CountingServers on 127.0.0.1 and 127.0.0.2, same port (multi.test has both)."""
    with servers.CountingServer() as one:
        with servers.CountingServer(host="127.0.0.2", port=one.port) as two:
            yield one, two


@pytest.mark.parametrize("select, expected", [("roundRobin", (5, 5)), ("first", (10, 0))])
def test_dns_select(tmp_path, dns, two_servers, select, expected):
    one, two = two_servers
    r = run_script(tmp_path, f"""
        options = {{ iterations = 10, vus = 1, noConnectionReuse = true,
                    dns = {{ select = "{select}" }} }}
        function default() http.get("http://multi.test:{one.port}/") end
    """, *dns_flags(dns))
    assert metric(r.summary, "http_req_failed")["rate"] == 0
    assert (one.requests, two.requests) == expected
    assert dns.count("multi.test", "A") == 1, dns.queries


def test_policy_only_ipv6(tmp_path, dns, require_ipv6):
    with servers.CountingServer(host="::1") as s6:
        r = run_script(tmp_path, f"""
            options = {{ iterations = 5, vus = 1, dns = {{ policy = "onlyIPv6" }} }}
            function default()
              local res = http.get("http://v6.test:{s6.port}/")
              stampede.check(res, {{ ["status 200"] = function(x) return x.status == 200 end }})
            end
        """, *dns_flags(dns))
        assert_checks_pass(r)
        assert s6.requests == 5
    assert dns.count("v6.test", "AAAA") == 1 and dns.count("v6.test", "A") == 0, dns.queries


def test_policy_only_ipv4_on_an_ipv6_only_host_is_dns_error(dns, stampede, server):
    r = stampede.load(f"http://v6.test:{server.port}/", "--iterations", "3",
                      *dns_flags(dns), "--dns", "policy=onlyIPv4",
                      expect=(0, EXIT_THRESHOLDS))
    assert errors_by_kind(r.summary)["dns_error"]["count"] == 3
    assert dns.count("v6.test", "AAAA") == 0, dns.queries


# --------------------------------------------------------------------------------------
# quick mode
# --------------------------------------------------------------------------------------
def test_quick_mode_resolves_through_the_dns_server(dns, stampede, server):
    r = stampede.load(f"http://a.test:{server.port}/", "--iterations", "20", "--vus", "2",
                      *dns_flags(dns))
    assert metric(r.summary, "http_reqs")["count"] == 20
    assert metric(r.summary, "http_req_failed")["rate"] == 0
    assert server.requests == 20
    assert dns.count("a.test", "A") == 1, dns.queries


def test_quick_mode_policy_only_ipv6(dns, stampede, require_ipv6):
    with servers.CountingServer(host="::1") as s6:
        r = stampede.load(f"http://v6.test:{s6.port}/", "--iterations", "5",
                          *dns_flags(dns), "--dns", "policy=onlyIPv6")
        assert metric(r.summary, "http_req_failed")["rate"] == 0
        assert s6.requests == 5


# --------------------------------------------------------------------------------------
# invalid values
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("flag, value, says", [
    ("--dns", "ttl=soon", "ttl"),
    ("--dns", "select=best", "select"),
    ("--dns", "policy=v4", "policy"),
    ("--dns", "colour=red", "unknown dns option"),
    ("--dns-server", "dns.example:53", "--dns-server"),
    ("--dns-server", "", "--dns-server"),
])
def test_bad_dns_flag_exits_104(stampede, flag, value, says):
    r = stampede("run", "--url", "http://127.0.0.1:9/", "--iterations", "1", flag, value,
                 expect=EXIT_CONFIG)
    assert says in r.stderr, r.stderr


@pytest.mark.parametrize("dns_value, says", [
    ('{ ttl = "soon" }', "ttl"),
    ("{ ttl = -5 }", "ttl"),
    ('{ select = "best" }', "select"),
    ('{ policy = "ipv4" }', "policy"),
    ("{ policy = 4 }", "policy"),
    ('{ colour = "red" }', "unknown dns option"),
    ('"fast"', "options.dns"),
])
def test_bad_dns_option_exits_104(tmp_path, dns_value, says):
    r = run_script(tmp_path, f"""
        options = {{ iterations = 1, dns = {dns_value} }}
        function default() end
    """, expect=EXIT_CONFIG, export=False)
    assert says in r.stderr and "dns" in r.stderr, r.stderr


# --------------------------------------------------------------------------------------
# --dns-server: strict syntax (c-ares's own parser would rewrite "1.2.3.4.5" as 1.2.3.4:53)
# --------------------------------------------------------------------------------------
# Each must exit 104 at start-up, before anything is sent; the URL is a loopback literal all
# the same, so that even a regression could only reach loopback.
@pytest.mark.parametrize("value, says", [
    ("1.2.3.4.5", "not an IP address"),
    ("127.1", "not an IP address"),
    ("localhost", "no host names"),
    ("dns.example:53", "no host names"),
    ("127.0.0.1:65536", "port must be a number from 1 to 65535"),
    ("127.0.0.1:0", "port must be a number from 1 to 65535"),
    ("127.0.0.1:", "port must be a number from 1 to 65535"),
    ("127.0.0.1:53x", "port must be a number from 1 to 65535"),
    ("127.0.0.1:+53", "port must be a number from 1 to 65535"),
    ("127.0.0.1:000053", "port must be a number from 1 to 65535"),
    ("[::1", "missing ']'"),
    ("[::1]x", "unexpected text after ']'"),
    ("[::1]:", "port must be a number from 1 to 65535"),
    ("[::1]:0", "port must be a number from 1 to 65535"),
    ("[127.0.0.1]:53", "not an IPv6 address"),
    ("[fe80::1%lo]:53", "zone IDs are not supported"),
    ("0.0.0.0", "unspecified address"),
    ("0.0.0.0:5353", "unspecified address"),
    ("[::]:53", "unspecified address"),
    ("[::ffff:0.0.0.0]", "unspecified address"),
    ("::", "must be in brackets"),
    ("::1", "must be in brackets"),
    ("::1:53", "must be in brackets"),
    ("", "empty entry"),
    (",", "entry 1 '': empty entry"),
    ("127.0.0.1,", "entry 2 '': empty entry"),
    ("127.0.0.1,,127.0.0.2", "entry 2 '': empty entry"),
    ("127.0.0.1,1.2.3.4.5", "entry 2 '1.2.3.4.5': not an IP address"),
    ("127.0.0.1, 127.0.0.2", "entry 2 ' 127.0.0.2': spaces are not allowed"),
    (" 127.0.0.1", "spaces are not allowed"),
    (",".join(["127.0.0.1"] * 9), "entry 9 '127.0.0.1': more than 8 servers"),
])
def test_bad_dns_server_exits_104_before_sending(stampede, value, says):
    r = stampede("run", "--url", "http://127.0.0.1:9/", "--iterations", "1", "--threads", "1",
                 "--dns-server", value, expect=EXIT_CONFIG, timeout=10)
    assert f"invalid --dns-server '{value}'" in r.stderr, r.stderr
    assert says in r.stderr, r.stderr
    assert r.stdout == "", r.stdout  # no run, no summary


def test_dns_server_list_of_several(dns, stampede, server):
    """Eight entries (the maximum), in the forms accepted: IPv4:PORT and IPv4 alone would both
    work; only loopback servers that answer are listed."""
    r = stampede.load(f"http://a.test:{server.port}/", "--iterations", "3", "--threads", "1",
                      "--dns-server", ",".join([dns.server] * 8))
    assert metric(r.summary, "http_req_failed")["rate"] == 0
    assert server.requests == 3
    assert dns.count("a.test", "A") == 1, dns.queries


def test_dns_server_ipv6_in_brackets(stampede, server, require_ipv6):
    d = FakeDNS(host="::1").start()
    try:
        assert d.server.startswith("[::1]:")
        r = stampede.load(f"http://a.test:{server.port}/", "--iterations", "3",
                          "--threads", "1", "--dns-server", d.server)
        assert metric(r.summary, "http_req_failed")["rate"] == 0
        assert server.requests == 3
        assert d.count("a.test", "A") == 1, d.queries
    finally:
        d.stop()


# --------------------------------------------------------------------------------------
# bracketed URL hosts are IPv6 literals, never names to look up (RFC 3986 §3.2.2)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("host, says", [
    ("[a.test]", "not an IPv6 address"),
    ("[127.0.0.1]", "not an IPv6 address"),
    ("[v1.a]", "IPvFuture"),
    ("[::1%]", "empty IPv6 zone ID"),
])
def test_bracketed_url_host_must_be_ipv6(dns, stampede, server, host, says):
    r = stampede("run", "--url", f"http://{host}:{server.port}/ok", "--iterations", "1",
                 *dns_flags(dns), expect=EXIT_CONFIG, timeout=10)
    assert "invalid URL" in r.stderr and says in r.stderr, r.stderr
    assert server.connections == 0 and not dns.queries, dns.queries


@pytest.mark.parametrize("zone", ["%25lo", "%lo"], ids=["rfc6874", "bare"])
def test_bracketed_url_host_zone_id(dns, stampede, require_ipv6, zone):
    """An RFC 6874 zone ("%25lo") reaches the resolver as "%lo", as the bare form does (before,
    "25lo" was taken as the interface name: dns_error). ::1 ignores the zone."""
    with servers.CountingServer(host="::1") as s6:
        r = stampede.load(f"http://[::1{zone}]:{s6.port}/", "--iterations", "2",
                          *dns_flags(dns))
        assert metric(r.summary, "http_req_failed")["rate"] == 0, r.summary["errors"]
        assert s6.requests == 2
    assert not dns.queries, dns.queries
