"""Scripted tests: the stampede.data module and open() (docs/scripting.md "Data files")."""

import json
import subprocess
from collections import Counter

import pytest

from conftest import BIN
from script_servers import EXIT_SCRIPT, echo_server, run_script  # noqa: F401

DATA = 'local data = require "stampede.data"\n'

USERS = "name,email,age\n" + "".join(f"user{i},user{i}@test.com,{20 + i}\n" for i in range(1, 11))


def test_csv_fields_length_and_get(tmp_path, echo_server):
    (tmp_path / "users.csv").write_text(USERS)
    run_script(tmp_path, DATA + """
        local users = data.csv("users.csv")
        options = { iterations = 1 }
        function default()
          local third = users:get(3)
          http.get(BASE .. "/info", { headers = {
            ["X-Len"] = tostring(#users),
            ["X-Third"] = third.name .. "|" .. third.email .. "|" .. third.age,
            ["X-First"] = users:get(1).name, ["X-Last"] = users:get(10).name } })
        end
    """, base=echo_server)
    (e,) = echo_server.entries(path="/info")
    h = e["headers"]
    assert h["x-len"] == "10", h
    assert h["x-third"] == "user3|user3@test.com|23", h
    assert (h["x-first"], h["x-last"]) == ("user1", "user10"), h


def test_csv_next_is_sequential_per_vu(tmp_path, echo_server):
    (tmp_path / "users.csv").write_text(USERS)
    run_script(tmp_path, DATA + """
        local users = data.csv("users.csv")
        options = { scenarios = { s = { executor = "per-vu-iterations", vus = 3, iterations = 12 } } }
        function default()
          local u = users:next()
          http.get(BASE .. "/next", { headers = { ["X-VU"] = tostring(stampede.vu.id),
                                                   ["X-User"] = u.name } })
        end
    """, base=echo_server)
    log = echo_server.entries(path="/next")
    assert len(log) == 36
    for vu in ("1", "2", "3"):
        seq = [int(e["headers"]["x-user"][4:]) for e in log if e["headers"]["x-vu"] == vu]
        assert len(seq) == 12, (vu, seq)
        # each step moves to the next row, wrapping after the last
        for a, b in zip(seq, seq[1:]):
            assert b == a % 10 + 1, f"VU {vu} did not walk the rows in order: {seq}"


def test_csv_unique_hands_out_each_row_once(tmp_path, echo_server):
    (tmp_path / "users.csv").write_text(USERS)
    run_script(tmp_path, DATA + """
        local users = data.csv("users.csv")
        options = { vus = 4, iterations = 14 }
        function default()
          local u = users:unique()
          http.get(BASE .. "/unique?delay=5", { headers = { ["X-User"] = u and u.name or "none" } })
        end
    """, base=echo_server)
    got = Counter(e["headers"]["x-user"] for e in echo_server.entries(path="/unique"))
    assert got == Counter({**{f"user{i}": 1 for i in range(1, 11)}, "none": 4}), got


def test_csv_quoted_fields(tmp_path, echo_server):
    (tmp_path / "q.csv").write_text('id,text\n1,"hello, world"\n2,"say ""hi"""\n3,plain\n')
    run_script(tmp_path, DATA + """
        local rows = data.csv("q.csv")
        options = { iterations = 1 }
        function default()
          http.post(BASE .. "/q", rows:get(1).text .. "\\n" .. rows:get(2).text .. "\\n" ..
                    rows:get(3).text .. "\\n" .. #rows)
        end
    """, base=echo_server)
    (e,) = echo_server.entries(path="/q")
    assert e["body"] == 'hello, world\nsay "hi"\nplain\n3', e["body"]


def test_json_data(tmp_path, echo_server):
    products = [{"id": i, "name": f"p{i}", "tags": ["a", "b"]} for i in range(1, 6)]
    (tmp_path / "products.json").write_text(json.dumps(products))
    run_script(tmp_path, DATA + """
        local products = data.json("products.json")
        options = { iterations = 20, vus = 2 }
        function default()
          local p = products:random()
          local second = products:get(2)
          http.get(BASE .. "/p", { headers = { ["X-Id"] = tostring(p.id), ["X-Name"] = p.name,
            ["X-Len"] = tostring(#products), ["X-Second"] = second.name .. "/" .. second.tags[2] } })
        end
    """, base=echo_server)
    log = echo_server.entries(path="/p")
    assert len(log) == 20
    for e in log:
        h = e["headers"]
        assert h["x-len"] == "5" and h["x-second"] == "p2/b", h
        assert h["x-name"] == "p" + h["x-id"] and 1 <= int(h["x-id"]) <= 5, h
    assert len({e["headers"]["x-id"] for e in log}) >= 2, "random() always returned one row"


def test_json_unique(tmp_path, echo_server):
    (tmp_path / "ids.json").write_text(json.dumps([{"id": i} for i in range(1, 7)]))
    run_script(tmp_path, DATA + """
        local ids = data.json("ids.json")
        options = { vus = 3, iterations = 8 }
        function default()
          local r = ids:unique()
          http.get(BASE .. "/u", { headers = { ["X-Id"] = r and tostring(r.id) or "none" } })
        end
    """, base=echo_server)
    got = Counter(e["headers"]["x-id"] for e in echo_server.entries(path="/u"))
    assert got == Counter({**{str(i): 1 for i in range(1, 7)}, "none": 2}), got


def test_open_reads_a_file(tmp_path, echo_server):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "users.csv").write_text(USERS)
    (sub / "note.txt").write_text("from a file\n")
    r = run_script(sub, DATA + """
        local users = data.csv("users.csv")
        local note = open("note.txt")
        options = { iterations = 1 }
        function default()
          http.post(BASE .. "/rel", note .. #users)
        end
    """, base=echo_server)
    assert r.rc == 0
    assert echo_server.entries(path="/rel")[0]["body"] == "from a file\n10"


def test_open_relative_to_script_not_cwd(tmp_path, echo_server):
    # run from tmp_path, script (and its file) in tmp_path/scripts
    d = tmp_path / "scripts"
    d.mkdir()
    (d / "payload.txt").write_text("payload!")
    (d / "s.lua").write_text(
        'local http = require "stampede.http"\n'
        'local body = open("payload.txt")\n'
        'options = { iterations = 1 }\n'
        'function default() http.post(stampede.env.BASE_URL .. "/open", body) end\n')
    p = subprocess.run([BIN, "run", "scripts/s.lua", "-q", "--no-summary", "-e",
                        f"BASE_URL={echo_server.base}"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert echo_server.entries(path="/open")[0]["body"] == "payload!"


@pytest.mark.parametrize("content", [
    "a,b,c\n1,2,3\n4,5\n",            # short row
    "a,b\n1,2\n3,4,5\n",              # long row
])
def test_ragged_csv_is_an_init_error(tmp_path, echo_server, content):
    (tmp_path / "bad.csv").write_text(content)
    r = run_script(tmp_path, DATA + """
        local rows = data.csv("bad.csv")
        options = { iterations = 1 }
        function default() http.get(BASE .. "/") end
    """, base=echo_server, expect=EXIT_SCRIPT)
    assert "bad.csv" in r.stderr, r
    assert echo_server.log == []


def test_missing_data_file(tmp_path, echo_server):
    r = run_script(tmp_path, DATA + """
        local rows = data.json("missing.json")
        options = { iterations = 1 }
        function default() http.get(BASE .. "/") end
    """, base=echo_server, expect=EXIT_SCRIPT)
    assert "missing.json" in r.stderr, r
    assert echo_server.log == []


def test_bad_json_data_file(tmp_path, echo_server):
    (tmp_path / "broken.json").write_text('[{"id": 1}, {"id": ')
    r = run_script(tmp_path, DATA + """
        local rows = data.json("broken.json")
        options = { iterations = 1 }
        function default() http.get(BASE .. "/") end
    """, base=echo_server, expect=EXIT_SCRIPT)
    assert "broken.json" in r.stderr, r
    assert echo_server.log == []


def test_csv_crlf_and_empty_fields(tmp_path, echo_server):
    (tmp_path / "win.csv").write_bytes(b"name,age,note\r\nann,30,\r\nbob,40,x y\r\n")
    run_script(tmp_path, DATA + """
        local rows = data.csv("win.csv")
        options = { iterations = 1 }
        function default()
          local a, b = rows:get(1), rows:get(2)
          http.post(BASE .. "/win", table.concat({ #rows, "[" .. tostring(a.name) .. "]",
            "[" .. tostring(a.age) .. "]", "[" .. tostring(a.note) .. "]",
            "[" .. tostring(b.note) .. "]" }, "|"))
        end
    """, base=echo_server)
    (e,) = echo_server.entries(path="/win")
    assert e["body"] == "2|[ann]|[30]|[]|[x y]", e["body"]


def test_csv_with_byte_order_mark(tmp_path, echo_server):
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbfname,age\r\nann,30\r\n")
    run_script(tmp_path, DATA + """
        local rows = data.csv("bom.csv")
        options = { iterations = 1 }
        function default() http.post(BASE .. "/bom", tostring(rows:get(1).name)) end
    """, base=echo_server)
    (e,) = echo_server.entries(path="/bom")
    assert e["body"] == "ann", e["body"]
