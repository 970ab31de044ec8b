"""Scripted tests: stampede.json and the other Lua <-> JSON paths (setup() data, options).

Deep or cyclic tables, values JSON cannot hold and an exhausted Lua stack are clear script
errors, never a crash; a failed encode frees what it had built."""

import os

import pytest

from script_servers import EXIT_SCRIPT, run_script, script_errors

MAX_DEPTH = 64

# Under AddressSanitizer (make asan) freed memory waits in a 256 MB quarantine, which would
# count as peak RSS; keep it small so RSS measures leaks (LeakSanitizer checks them too).
# Other builds ignore the variable.
SMALL_ASAN_QUARANTINE = {"ASAN_OPTIONS": ":".join(
    filter(None, [os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=4"]))}

# nest(n): a table n levels deep, {x = {x = ... {} }}; nest_array(n) the same with arrays.
NEST = """
    local function nest(n) local t = {} local c = t for i = 2, n do c.x = {} c = c.x end return t end
    local function nest_array(n) local t = {} local c = t for i = 2, n do c[1] = {} c = c[1] end return t end
"""


def nested(n, kind):
    """The JSON text json.encode gives for nest(n) or nest_array(n)."""
    if kind == "object":
        return '{"x":' * (n - 1) + "{}" + "}" * (n - 1)
    return "[" * (n - 1) + "{}" + "]" * (n - 1)


def printed(r, tag):
    """The text after `tag` on the line of stdout that starts with it."""
    for line in r.stdout.splitlines():
        if line.startswith(tag + " "):
            return line[len(tag) + 1:]
    raise AssertionError(f"no line starting with {tag!r} on stdout\n{r}")


# --------------------------------------------------------------------------------------
# depth and cycles
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["object", "array"])
@pytest.mark.parametrize("depth", [19, 20, 21, 30, MAX_DEPTH])
def test_encode_nested_tables_up_to_the_limit(tmp_path, depth, kind):
    make = "nest" if kind == "object" else "nest_array"
    r = run_script(tmp_path, NEST + f"""
        options = {{ iterations = 1 }}
        function default()
          local s = json.encode({make}({depth}))
          print("OUT " .. s)
          -- the decoded copy has the same depth and encodes to the same text
          print("ROUND " .. tostring(json.encode(json.decode(s)) == s))
        end
    """)
    assert printed(r, "OUT") == nested(depth, kind), r
    assert printed(r, "ROUND") == "true", r
    assert script_errors(r.summary) == [], r


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100, 10000])
def test_encode_deeper_than_the_limit_is_a_script_error(tmp_path, depth):
    r = run_script(tmp_path, NEST + f"""
        options = {{ iterations = 1 }}
        function default()
          local ok, err = pcall(json.encode, nest({depth}))
          print("PCALL " .. tostring(ok) .. " " .. tostring(err))
          ok, err = pcall(json.encode, nest_array({depth}))
          print("ARRAY " .. tostring(ok) .. " " .. tostring(err))
          print("AFTER " .. json.encode({{ a = 1 }}))  -- the state is still usable
          json.encode(nest({depth}))                   -- uncaught: the iteration's error
        end
    """)
    msg = f"json.encode: tables nested deeper than {MAX_DEPTH} levels"
    assert printed(r, "PCALL") == "false " + msg, r
    assert printed(r, "ARRAY") == "false " + msg, r
    assert printed(r, "AFTER") == '{"a":1}', r
    errs = script_errors(r.summary)
    assert len(errs) == 1 and msg in errs[0]["message"], errs
    assert msg in r.stderr, r


@pytest.mark.parametrize("make", [
    "local t = {} t.self = t",
    "local t = {1, 2} t[3] = t",
    "local t = { a = { b = { c = {} } } } t.a.b.c.back = t.a",
    "local t = nest(63) local c = t for i = 2, 63 do c = c.x end c.x = t",
], ids=["self", "array", "indirect", "long"])
def test_encode_cycle_is_a_script_error(tmp_path, make):
    r = run_script(tmp_path, NEST + f"""
        options = {{ iterations = 1 }}
        function default()
          {make}
          local ok, err = pcall(json.encode, t)
          print("PCALL " .. tostring(ok) .. " " .. tostring(err))
          json.encode(t)
        end
    """)
    msg = "json.encode: a table contains itself (a cycle)"
    assert printed(r, "PCALL") == "false " + msg, r
    assert msg in r.stderr, r


def test_encode_shared_table_is_not_a_cycle(tmp_path):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          local s = { 1, 2 }
          local t = { a = s, b = { s, s } }
          local d = json.decode(json.encode(t))
          print("OUT " .. json.encode({ d.a, d.b[1], d.b[2] }))
        end
    """)
    assert printed(r, "OUT") == "[[1,2],[1,2],[1,2]]", r


def test_mixed_table_keeps_every_key(tmp_path):
    """A table whose # is its key count but whose keys are not 1..n is an object: no key
    is dropped and no hole becomes null."""
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          local t = { "a", "b", "c", x = "e" }
          t[2] = nil  -- #t is still 3, and so is the number of keys
          local d = json.decode(json.encode(t))
          print("OUT " .. #t .. " " .. tostring(d["1"]) .. tostring(d["3"]) .. tostring(d.x))
        end
    """)
    assert printed(r, "OUT") == "3 ace", r


# --------------------------------------------------------------------------------------
# values JSON cannot hold
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value,msg", [
    ("0/0", "cannot encode NaN: JSON numbers are finite"),
    ("{ 1, 2, math.huge }", "cannot encode inf: JSON numbers are finite"),
    ("{ a = { b = -math.huge } }", "cannot encode -inf: JSON numbers are finite"),
    ("{ f = print }", "cannot encode a function"),
    ("{ coroutine.create(print) }", "cannot encode a thread"),
    ("{ [true] = 1 }", "table keys must be strings or numbers, not boolean"),
    ("{ a = { [{}] = 1 } }", "table keys must be strings or numbers, not table"),
    ('{ "\\255" }', "string is not valid UTF-8"),
    ('{ ["\\255"] = 1 }', "table key is not valid UTF-8"),
], ids=["nan", "inf", "-inf", "function", "thread", "boolean-key", "table-key",
        "bad-utf8", "bad-utf8-key"])
def test_encode_unencodable_value_is_a_script_error(tmp_path, value, msg):
    r = run_script(tmp_path, f"""
        options = {{ iterations = 1 }}
        function default()
          local ok, err = pcall(json.encode, {value})
          print("PCALL " .. tostring(ok) .. " " .. tostring(err))
          json.encode({value})
        end
    """)
    assert printed(r, "PCALL") == "false json.encode: " + msg, r
    errs = script_errors(r.summary)
    assert len(errs) == 1 and "json.encode: " + msg in errs[0]["message"], errs


# --------------------------------------------------------------------------------------
# setup() data and options go through the same conversion
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [20, 40, MAX_DEPTH])
def test_setup_returning_a_deep_table(tmp_path, depth):
    r = run_script(tmp_path, NEST + f"""
        options = {{ iterations = 2, vus = 2 }}
        function setup() return nest({depth}) end
        function default(data)
          local n = 0
          while data do n = n + 1 data = data.x end
          print("DEPTH " .. n)
        end
    """)
    assert printed(r, "DEPTH") == str(depth), r
    assert script_errors(r.summary) == [], r


@pytest.mark.parametrize("make,msg", [
    ("return nest(65)", f"tables nested deeper than {MAX_DEPTH} levels"),
    ("return nest(1000)", f"tables nested deeper than {MAX_DEPTH} levels"),
    ("local t = nest(40) t.x.x.back = t return t", "a table contains itself (a cycle)"),
    ("return { ok = 1, bad = { 0/0 } }", "cannot encode NaN: JSON numbers are finite"),
    ("return { f = function() end }", "cannot encode a function"),
], ids=["65", "1000", "cycle", "nan", "function"])
def test_setup_returning_unencodable_data_fails_the_run(tmp_path, make, msg):
    r = run_script(tmp_path, NEST + f"""
        options = {{ iterations = 1 }}
        function setup() {make} end
        function default(data) print("RAN") end
    """, expect=EXIT_SCRIPT)
    assert f"setup() returned data that JSON cannot hold: {msg}" in r.stderr, r
    assert "RAN" not in r.stdout, r


@pytest.mark.parametrize("make,msg", [
    ("local t = { iterations = 1 } t.self = t options = t",
     "options: a table contains itself (a cycle)"),
    ("options = { iterations = 1, tags = nest(100) }",
     f"options: tables nested deeper than {MAX_DEPTH} levels"),
], ids=["cycle", "deep"])
def test_unencodable_options_are_a_clear_error(tmp_path, make, msg):
    r = run_script(tmp_path, NEST + f"""
        {make}
        function default() print("RAN") end
    """, expect=EXIT_SCRIPT, export=False)
    assert msg in r.stderr, r
    assert "RAN" not in r.stdout, r


# --------------------------------------------------------------------------------------
# an exhausted Lua stack
# --------------------------------------------------------------------------------------
def test_exhausted_lua_stack_is_a_script_error(tmp_path):
    """Encoding and decoding nested data deep inside a recursion that has used up the Lua
    stack give an error naming the cause, not a write past the stack."""
    r = run_script(tmp_path, NEST + f"""
        options = {{ iterations = 1 }}
        local deep = nest({MAX_DEPTH})
        local text = json.encode(deep)
        local maxd = 0
        -- recurse; from level `from` on, try fn(arg) at each level until it fails
        local function f(d, from, fn, arg)
          if d > maxd then maxd = d end
          if d >= from then
            local ok, err = pcall(fn, arg)
            if not ok then return err end
          end
          local err = f(d + 1, from, fn, arg)
          return err
        end
        function default()
          print("PROBE " .. tostring(select(2, pcall(f, 0, math.huge))))
          local top = maxd
          print("ENCODE " .. f(0, top - 300, json.encode, deep))
          print("DECODE " .. f(0, top - 300, json.decode, text))
          print("AFTER " .. json.encode(json.decode(text)):sub(1, 10))
        end
    """)
    assert "stack overflow" in printed(r, "PROBE"), r
    assert printed(r, "ENCODE") == "json.encode: no Lua stack left to convert nested tables", r
    assert "json: no Lua stack left for nested arrays and objects" in printed(r, "DECODE"), r
    assert printed(r, "AFTER") == '{"x":{"x":', r


def test_decode_depth(tmp_path):
    """Decoding is bounded by the JSON parser's depth limit, with a clear error past it."""
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          local d = json.decode(string.rep("[", 2000) .. string.rep("]", 2000))
          local n = 0
          while d do n = n + 1 d = d[1] end
          print("DEPTH " .. n)
          local ok, err = pcall(json.decode, string.rep("[", 3000) .. string.rep("]", 3000))
          print("PCALL " .. tostring(ok) .. " " .. tostring(err))
        end
    """)
    assert printed(r, "DEPTH") == "2000", r
    assert printed(r, "PCALL").startswith("false json.decode: maximum parsing depth"), r


# --------------------------------------------------------------------------------------
# leaks
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [
    "0/0, print, { [true] = 1 }, { a = { b = { coroutine.create(print) } } }",
    "nest(100), (function() local t = {} t.self = t return t end)()",
], ids=["values", "depth-and-cycle"])
def test_failed_encodes_do_not_leak(tmp_path, bad):
    """2000 encodes under pcall that each fail at the end of a 500-element table: the part
    built before the failure is freed every time (leaking it grows the process by ~400 MB)."""
    r = run_script(tmp_path, NEST + """
        options = { iterations = 1 }
        function default()
          local bad = { BAD }
          local t = {}
          for i = 1, 500 do t[i] = { id = i, name = "item" .. i } end
          local failed = 0
          for i = 1, 2000 do
            t[501] = bad[i % #bad + 1]
            if not pcall(json.encode, t) then failed = failed + 1 end
          end
          print("FAILED " .. failed)
        end
    """.replace("BAD", bad), timeout=60, env=SMALL_ASAN_QUARANTINE)
    assert printed(r, "FAILED") == "2000", r
    rss_kb = r.summary["generator"]["max_rss_kb"]
    assert 0 < rss_kb < 200 * 1024, f"peak RSS {rss_kb} kB after 2000 failed encodes\n{r}"
