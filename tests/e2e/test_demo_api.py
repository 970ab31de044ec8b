"""`stampede serve-demo`: the endpoints, /admin/config and the command line (docs/demo.md)."""

import json

import pytest

from conftest import EXIT_CONFIG
from demo_fixtures import demo_server, demo_server_module  # noqa: F401


# --------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------
def test_help(stampede):
    r = stampede("serve-demo", "--help", expect=0)
    assert "usage: stampede serve-demo" in r.stdout
    for flag in ("--workers", "--queue", "--query-latency", "--cpu-us", "--n-plus-one",
                 "--cache-ttl", "--leak-bytes", "--stall", "--error-rate",
                 "--max-connections"):
        assert flag in r.stdout, flag


@pytest.mark.parametrize("args,named", [
    (["--bogus"], "--bogus"),
    (["--workers", "0"], "--workers"),
    (["--workers", "many"], "--workers"),
    (["--queue", "-1"], "--queue"),
    (["--query-latency", "10parsecs"], "--query-latency"),
    (["--cache-ttl", "-1s"], "--cache-ttl"),
    (["--stall", "1s"], "--stall"),
    (["--stall", "1s:2s"], "--stall"),
    (["--error-rate", "1.5"], "--error-rate"),
    (["--leak-bytes", "lots"], "--leak-bytes"),
    (["--max-connections", "0"], "--max-connections"),
    (["--port", "70000"], "--port"),
    (["--workers"], "--workers"),
    (["extra"], "extra"),
])
def test_bad_flags_exit_104_naming_the_flag(stampede, args, named):
    r = stampede("serve-demo", *args, expect=EXIT_CONFIG, timeout=10)
    assert named in r.stderr, r
    assert r.stdout == "", r


def test_port_in_use_fails_with_a_message(stampede, demo_server):
    s = demo_server()
    r = stampede("serve-demo", "--port", s.port, timeout=10)
    assert r.rc == 1, r
    assert f"port {s.port}" in r.stderr and "in use" in r.stderr, r


def test_prints_the_url_and_defaults(demo_server):
    s = demo_server()
    out = s.out.read_text()
    assert f"serve-demo: listening on http://127.0.0.1:{s.port} (4 workers, queue 1024)" in out


# --------------------------------------------------------------------------------------
# endpoints
# --------------------------------------------------------------------------------------
def test_health_and_ready(demo_server_module):
    s = demo_server_module
    status, headers, body = s.get("/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert headers["content-type"] == "application/json"
    assert "date" in headers and headers["server"] == "stampede-demo"
    status, body = s.get_json("/ready")
    assert status == 200 and body == {"status": "ready"}


def test_login(demo_server_module):
    s = demo_server_module
    for n in (1, 777, 100000):
        status, body = s.post_json("/api/auth/login",
                                   {"email": f"user{n}@test.com", "password": "testpassword"})
        assert status == 200, body
        assert isinstance(body["token"], str) and body["token"]
    for email, pw in (("user1@test.com", "wrong"), ("user0@test.com", "testpassword"),
                      ("user100001@test.com", "testpassword"), ("user01@test.com", "testpassword"),
                      ("someone@test.com", "testpassword"), ("user5@test.co", "testpassword")):
        status, body = s.post_json("/api/auth/login", {"email": email, "password": pw})
        assert status == 401, (email, pw, body)
        assert "error" in body
    for raw in (b"{not json", b"[]", b'{"email": 1, "password": "x"}', b""):
        status, _, body = s.request("POST", "/api/auth/login", body=raw)
        assert status == 400, (raw, body)
        assert "error" in json.loads(body)


def test_products_offset_pagination(demo_server_module):
    s = demo_server_module
    status, p1 = s.get_json("/api/products?page=1&limit=5")
    assert status == 200
    assert [p["id"] for p in p1["data"]] == [1, 2, 3, 4, 5]
    assert p1["next_cursor"] == "5" and p1["total"] == 10000
    for p in p1["data"]:
        assert set(p) == {"id", "name", "category", "price", "stock"}, p
    status, p3 = s.get_json("/api/products?page=3&limit=5")
    assert [p["id"] for p in p3["data"]] == [11, 12, 13, 14, 15]
    status, default = s.get_json("/api/products")
    assert len(default["data"]) == 20
    status, last = s.get_json("/api/products?page=100&limit=100")
    assert len(last["data"]) == 100 and last["next_cursor"] is None
    status, beyond = s.get_json("/api/products?page=101&limit=100")
    assert status == 200 and beyond["data"] == [] and beyond["next_cursor"] is None
    # deterministic catalogue: the same product twice
    assert s.get_json("/api/products?page=1&limit=5")[1] == p1


def test_products_cursor_pagination_walks_the_catalogue(demo_server_module):
    s = demo_server_module
    seen, cursor, pages = [], "", 0
    while cursor is not None and pages < 200:
        status, page = s.get_json(f"/api/products?cursor={cursor}&limit=100")
        assert status == 200, page
        seen += [p["id"] for p in page["data"]]
        cursor = page["next_cursor"]
        pages += 1
    assert seen == list(range(1, 10001))
    # the cursor pages and the offset pages agree
    _, a = s.get_json("/api/products?cursor=40&limit=10")
    _, b = s.get_json("/api/products?page=5&limit=10")
    assert a["data"] == b["data"]


@pytest.mark.parametrize("query", ["page=0", "page=x", "limit=0", "limit=101", "limit=-1",
                                   "cursor=abc", "cursor=10001", "page=2&cursor=5"])
def test_products_bad_query_is_400(demo_server_module, query):
    status, body = demo_server_module.get_json(f"/api/products?{query}")
    assert status == 400, (query, body)
    assert "error" in body


def test_product_by_id(demo_server_module):
    s = demo_server_module
    status, p = s.get_json("/api/products/42")
    assert status == 200 and p["id"] == 42
    _, listed = s.get_json("/api/products?page=9&limit=5")
    assert listed["data"][1] == p
    for missing in ("0", "10001", "abc", "99999999999999999999999", "-1"):
        status, body = s.get_json(f"/api/products/{missing}")
        assert status == 404, (missing, body)
    status, headers, body = s.request("HEAD", "/api/products/42")
    assert status == 200 and body == b""
    assert int(headers["content-length"]) > 0


def test_orders(demo_server_module):
    s = demo_server_module
    token = s.token(3)
    auth = {"Authorization": f"Bearer {token}"}
    order = {"productId": 17, "quantity": 2, "shippingAddress": "1 Main St, Springfield"}
    status, body = s.post_json("/api/orders", order, headers=auth)
    assert status == 201, body
    first = body["data"]["orderId"]
    status, body = s.post_json("/api/orders", {**order, "shippingAddress": {"city": "X"}},
                               headers=auth)
    assert status == 201 and body["data"]["orderId"] > first
    # authentication first
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": token},
                    {"Authorization": f"Bearer {token}x"}, {"Authorization": "Basic dTpw"}):
        status, body = s.post_json("/api/orders", order, headers=headers)
        assert status == 401, (headers, body)
    # then the body
    for bad in (b"{", b"[1]", b'{"productId": 0, "quantity": 1, "shippingAddress": "a"}',
                b'{"productId": 1, "quantity": 0, "shippingAddress": "a"}',
                b'{"productId": 1, "quantity": "2", "shippingAddress": "a"}',
                b'{"productId": 1, "quantity": 2}',
                b'{"productId": 1, "quantity": 2, "shippingAddress": ""}'):
        status, _, body = s.request("POST", "/api/orders", body=bad, headers=auth)
        assert status == 400, (bad, body)


def test_user_orders(demo_server_module):
    s = demo_server_module
    counts = []
    for uid in (1, 2, 3, 500, 1000):
        status, body = s.get_json(f"/api/users/{uid}/orders")
        assert status == 200, body
        user = body["data"]
        assert user["id"] == uid and user["email"] == f"user{uid}@test.com"
        assert 0 <= len(user["orders"]) <= 50
        for o in user["orders"]:
            assert {"id", "productId", "productName", "quantity", "total", "status"} <= set(o)
        counts.append(len(user["orders"]))
    assert len(set(counts)) > 1, "every user has the same number of orders"
    for missing in ("0", "1001", "x"):
        status, _ = s.get_json(f"/api/users/{missing}/orders")
        assert status == 404


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/nope", 404),
    ("GET", "/api/products/", 404),
    ("GET", "/api/users/1/orders/2", 404),
    ("DELETE", "/api/products/1", 405),
    ("GET", "/api/orders", 405),
    ("PUT", "/health", 405),
    ("BREW", "/health", 501),
])
def test_unknown_routes_and_methods(demo_server_module, method, path, status):
    got, headers, body = demo_server_module.request(method, path)
    assert got == status, body
    assert "error" in json.loads(body)
    if status == 405:
        assert headers["allow"]


# --------------------------------------------------------------------------------------
# /admin/config
# --------------------------------------------------------------------------------------
def test_admin_config_get_and_set(demo_server):
    s = demo_server("--workers", "2", "--query-latency", "3ms")
    status, cfg = s.get_json("/admin/config")
    assert status == 200
    assert cfg["workers"] == 2 and cfg["query_latency"] == "3ms" and cfg["port"] == s.port
    assert cfg["stall"] == "off" and cfg["n_plus_one"] is False
    cfg = s.admin(query_latency="1500us", n_plus_one=True, stall="10s:250ms", error_rate=0.25,
                  cache_ttl=30, leak_bytes=0, cpu_us="0")
    assert cfg["query_latency"] == "1500us" and cfg["n_plus_one"] is True
    assert cfg["stall"] == "10s:250ms" and cfg["error_rate"] == 0.25
    assert cfg["cache_ttl"] == "30s"
    assert s.get_json("/admin/config")[1] == cfg
    # hyphenated names work too
    assert s.admin(**{"query-latency": "0"})["query_latency"] == "0"


@pytest.mark.parametrize("body,word", [
    (b"{nope", "JSON"),
    (b"[]", "object"),
    (b'{"bogus": 1}', "bogus"),
    (b'{"workers": 8}', "workers"),
    (b'{"query_latency": "fast"}', "query_latency"),
    (b'{"error_rate": 2}', "error_rate"),
    (b'{"stall": "5s"}', "stall"),
    (b'{"n_plus_one": [1]}', "n_plus_one"),
])
def test_admin_config_rejects_bad_input_atomically(demo_server_module, body, word):
    s = demo_server_module
    before = s.get_json("/admin/config")[1]
    status, _, resp = s.request("POST", "/admin/config",
                                body=body[:-1] + b', "cpu_us": 5}' if body.endswith(b"}")
                                and body.startswith(b"{\"") else body)
    assert status == 400, resp
    assert word in json.loads(resp)["error"]
    assert s.get_json("/admin/config")[1] == before, "a rejected update changed a knob"
