"""A k6 or wrk user's habits (issue #9 §4): strict flags with "did you mean", a hint for a
wrk-style positional URL, `stampede help nothing`, k6 option keys stampede does not
implement (a warning, or exit 104 when ignoring one would change what is sent),
options.tags and --tag on every sample, and --http-debug / options.httpDebug.

Every run targets a CountingServer on 127.0.0.1 started here, and is bounded by
iterations (a handful of requests) and a subprocess timeout. Configuration errors are
checked to send nothing.
"""

import pytest

import servers
from conftest import EXIT_CONFIG, EXIT_OK, EXIT_THRESHOLDS


@pytest.fixture(scope="module")
def server():
    with servers.CountingServer() as s:
        yield s


@pytest.fixture
def script(tmp_path):
    def write(text, name="s.lua"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    return write


def base(server):
    return f"BASE_URL=http://127.0.0.1:{server.port}"


def config_error(stampede, server, *args, env=None):
    """Runs args, expecting exit 104 with a message and no request sent."""
    before = server.requests
    r = stampede(*args, timeout=20, expect=EXIT_CONFIG, env=env)
    assert r.stderr.strip(), f"no message on stderr\n{r}"
    assert server.requests == before, f"a configuration error sent requests\n{r}"
    return r


# --- help ------------------------------------------------------------------------------
def test_help_of_an_unknown_command_is_an_error(stampede):
    r = stampede("help", "nothing", timeout=10, expect=EXIT_CONFIG)
    assert "unknown command 'nothing'" in r.stderr, r
    assert "usage:" in r.stderr, f"the usage is not on stderr\n{r}"
    assert r.stdout == "", f"the error printed on stdout\n{r}"


def test_help_suggests_a_close_command(stampede):
    r = stampede("help", "rnu", timeout=10, expect=EXIT_CONFIG)
    assert "unknown command 'rnu' (did you mean 'run'?)" in r.stderr, r


@pytest.mark.parametrize("cmd,word", [("report", "report"), ("run", "--url"),
                                      ("serve-demo", "--port"), ("quickstart", "--out")])
def test_help_of_each_command(stampede, cmd, word):
    r = stampede("help", cmd, timeout=10, expect=EXIT_OK)
    assert word in r.stdout, f"`stampede help {cmd}` does not mention {word}\n{r}"


# --- strict long options -----------------------------------------------------------------
def test_quickstart_refuses_an_abbreviated_option(stampede, tmp_path):
    r = stampede("quickstart", "--ou", str(tmp_path / "x"), timeout=10, expect=EXIT_CONFIG)
    assert "unknown option '--ou' (did you mean '--out'?)" in r.stderr, r
    assert "see 'stampede help quickstart'" in r.stderr, r
    assert not (tmp_path / "x").exists(), "quickstart ran with an abbreviated option"


# The tests below need cmd_run.c to parse with cli_getopt_long (docs: /work/notes/doc-cli.md).
@pytest.mark.parametrize("args,message", [
    (["--vu", "5"], "unknown option '--vu' (did you mean '--vus'?)"),
    (["--vu=5"], "unknown option '--vu' (did you mean '--vus'?)"),
    (["--dur", "1s"], "unknown option '--dur' (did you mean '--duration'?)"),
    (["--duraton", "1s"], "unknown option '--duraton' (did you mean '--duration'?)"),
    (["--bogus-flag"], "unknown option '--bogus-flag'"),
    (["--quiet=yes"], "option '--quiet' does not take a value"),
])
def test_run_refuses_abbreviated_and_unknown_options(stampede, server, args, message):
    r = config_error(stampede, server, "run", "--url", server.url, "--iterations", "1",
                     *args)
    assert message in r.stderr, r
    assert "see 'stampede help run'" in r.stderr, r


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/", "127.0.0.1:{port}"])
def test_run_hints_at_url_for_a_positional_url(stampede, server, url):
    url = url.format(port=server.port)
    r = config_error(stampede, server, "run", "-c", "1", "-d", "1s", url)
    assert f"'{url}' looks like a URL: use --url URL" in r.stderr, r


# --- k6 option keys stampede does not implement ---------------------------------------------
SCRIPT_WITH = """
local http = require "stampede.http"
options = {{ iterations = 2, {extra} }}
function default() http.get(stampede.env.BASE_URL .. "/") end
"""


@pytest.mark.parametrize("extra,key", [
    ('summaryTimeUnit = "ms"', "summaryTimeUnit"),
    ('systemTags = { "status" }', "systemTags"),
    ('noUsageReport = true', "noUsageReport"),
    ('throw = false', "throw"),          # refused when on; off, it changes nothing
])
def test_an_unsupported_option_that_changes_nothing_sent_is_a_warning(
        stampede, server, script, extra, key):
    path = script(SCRIPT_WITH.format(extra=extra))
    before = server.requests
    r = stampede("run", path, "-q", "-e", base(server), timeout=20, expect=EXIT_OK)
    assert f"stampede: warning: options.{key} is not supported and is ignored" in r.stderr, r
    assert server.requests - before == 2, f"the run did not go on\n{r}"


@pytest.mark.parametrize("extra,key", [
    ('hosts = { ["test.k6.io"] = "127.0.0.1" }', "hosts"),
    ('tlsVersion = "tls1.2"', "tlsVersion"),
    ('rps = 10', "rps"),
    ('blockHostnames = { "*.example.com" }', "blockHostnames"),
    ('noCookiesReset = true', "noCookiesReset"),
    ('throw = true', "throw"),
])
def test_an_unsupported_option_that_changes_what_is_sent_is_refused(
        stampede, server, script, extra, key):
    path = script(SCRIPT_WITH.format(extra=extra))
    r = config_error(stampede, server, "run", path, "-q", "-e", base(server))
    assert f"options.{key} is not supported" in r.stderr, r
    assert "warning" not in r.stderr, r


def test_a_mistyped_option_is_refused_with_a_hint(stampede, server, script):
    path = script(SCRIPT_WITH.format(extra='duraton = "1s"'))
    r = config_error(stampede, server, "run", path, "-q", "-e", base(server))
    assert "unknown option 'duraton'" in r.stderr and "did you mean 'duration'?" in r.stderr, r


# --- options.tags and --tag -----------------------------------------------------------------
TAGGED = """
local http = require "stampede.http"
local metrics = require "stampede.metrics"
local orders = metrics.counter("orders")
options = {
  scenarios = { main = { executor = "shared-iterations", iterations = 3, %(scen)s } },
  %(run)s
  %(thresholds)s
}
function default()
  http.get(stampede.env.BASE_URL .. "/")
  orders:add(1)
end
"""

HAS_DATA = ["http_reqs{%s}: count>0", "http_req_duration{%s}: max>0",
            "iterations{%s}: count>0", "iteration_duration{%s}: max>0",
            "orders{%s}: count>0", "data_sent{%s}: count>0", "data_received{%s}: count>0"]


def tagged(scen="", run="", selectors=()):
    """The script above with scenario tags, run tags (Lua table fields) and thresholds
    ("metric{tag:value}: expression"); each section left out when empty."""
    thresholds = ", ".join(f'["{s.split(": ")[0]}"] = {{ "{s.split(": ")[1]}" }}'
                           for s in selectors)
    return TAGGED % {"scen": f"tags = {{ {scen} }}" if scen else "",
                     "run": f"tags = {{ {run} }}," if run else "",
                     "thresholds": f"thresholds = {{ {thresholds} }}," if thresholds else ""}


def thresholds_for(tag):
    return [t % tag for t in HAS_DATA]


def test_options_tags_reach_every_sample(stampede, server, script):
    path = script(tagged(run='testid = "abc"', selectors=thresholds_for("testid:abc")))
    r = stampede("run", path, "-q", "-e", base(server), timeout=20, expect=EXIT_OK)
    assert "testid:abc" in r.stdout, r


def test_a_selector_without_data_fails(stampede, server, script):
    """The control of the test above: the same thresholds on a tag nobody has fail."""
    path = script(tagged(run='testid = "abc"', selectors=thresholds_for("testid:zzz")[:1]))
    stampede("run", path, "-q", "-e", base(server), timeout=20, expect=EXIT_THRESHOLDS)


@pytest.mark.parametrize("metric", ["checks{testid:abc}: rate>0",
                                    "group_duration{testid:abc}: max>0"])
def test_options_tags_reach_checks_and_groups(stampede, server, script, metric):
    """Needs lua_vu.c to tag checks and group_duration with the scenario's tags
    (doc-cli.md)."""
    text = tagged(run='testid = "abc"', selectors=[metric]).replace(
        'http.get(stampede.env.BASE_URL .. "/")',
        'stampede.group("g", function() local res = http.get(stampede.env.BASE_URL .. "/")\n'
        '  stampede.check(res, { ok = function(x) return x.status == 200 end }) end)')
    r = stampede("run", script(text), "-q", "-e", base(server), timeout=20, expect=EXIT_OK)
    assert "testid:abc" in r.stdout, r


def test_scenario_tags_win_over_run_tags(stampede, server, script):
    sel = thresholds_for("testid:scen") + thresholds_for("team:web")
    path = script(tagged(scen='testid = "scen"', run='testid = "abc", team = "web"',
                         selectors=sel))
    stampede("run", path, "-q", "-e", base(server), timeout=20, expect=EXIT_OK)
    path = script(tagged(scen='testid = "scen"', run='testid = "abc"',
                         selectors=["http_reqs{testid:abc}: count>0"]), "lost.lua")
    stampede("run", path, "-q", "-e", base(server), timeout=20, expect=EXIT_THRESHOLDS)


def test_bad_options_tags_are_refused(stampede, server, script):
    path = script(tagged(run='nested = { 1 }'))
    r = config_error(stampede, server, "run", path, "-q", "-e", base(server))
    assert "options.tags" in r.stderr, r


def test_cli_tags_win_over_options_tags(stampede, server, script):
    path = script(tagged(run='testid = "abc"', selectors=thresholds_for("testid:cli")))
    stampede("run", path, "-q", "-e", base(server), "--tag", "testid=cli", timeout=20,
             expect=EXIT_OK)
    path = script(tagged(run='testid = "abc"', selectors=["http_reqs{testid:abc}: count>0"]),
                  "lost.lua")
    stampede("run", path, "-q", "-e", base(server), "--tag", "testid=cli", timeout=20,
             expect=EXIT_THRESHOLDS)


def test_cli_tags_replace_options_tags_as_in_k6(stampede, server, script):
    """k6's Options.Apply takes the command line's RunTags whole (`if len(opts.RunTags) >
    0 { o.RunTags = opts.RunTags }`): the script's other tags are gone too."""
    path = script(tagged(run='testid = "abc", team = "web"',
                         selectors=["http_reqs{team:web}: count>0"]))
    stampede("run", path, "-q", "-e", base(server), "--tag", "testid=cli", timeout=20,
             expect=EXIT_THRESHOLDS)


def test_cli_tags_in_quick_mode(stampede, server):
    args = ["run", "--url", server.url, "-q", "--iterations", "3", "--tag", "testid=q",
            "--tag", "env=ci"]
    for t in thresholds_for("testid:q")[:4] + thresholds_for("env:ci")[:1]:
        args += ["--threshold", t]
    stampede(*args, timeout=20, expect=EXIT_OK)


def test_a_bad_cli_tag_is_refused(stampede, server):
    r = config_error(stampede, server, "run", "--url", server.url, "--iterations", "1",
                     "--tag", "novalue")
    assert "--tag" in r.stderr, r


# --- --http-debug and options.httpDebug -----------------------------------------------------
DEBUG = """
local http = require "stampede.http"
options = { iterations = 1, httpDebug = %s }
function default()
  http.post(stampede.env.BASE_URL .. "/path?q=1", "hello-body",
            { headers = { ["X-Probe"] = "yes" } })
end
"""


def test_http_debug_option_prints_requests_and_responses(stampede, server, script):
    r = stampede("run", script(DEBUG % '"full"'), "-q", "-e", base(server), timeout=20,
                 expect=EXIT_OK)
    err = r.stderr.replace("\r\n", "\n")
    assert "Request:\nPOST /path?q=1 HTTP/1.1\n" in err, r
    assert "X-Probe: yes\n" in err, r
    assert "hello-body" in err, f"full debug does not show the request body\n{r}"
    assert "Response:\nHTTP/1.1 200\n" in err, r
    assert "Content-Type: text/plain" in err or "content-type: text/plain" in err, r
    assert "\nok\n" in err, f"full debug does not show the response body\n{r}"


def test_http_debug_without_full_has_no_bodies(stampede, server, script):
    r = stampede("run", script(DEBUG % "true"), "-q", "-e", base(server), timeout=20,
                 expect=EXIT_OK)
    err = r.stderr.replace("\r\n", "\n")
    assert "Request:\nPOST /path?q=1 HTTP/1.1\n" in err and "Response:\n" in err, r
    assert "hello-body" not in err and "\nok\n" not in err, r


def test_bad_http_debug_option_is_refused(stampede, server, script):
    r = config_error(stampede, server, "run", script(DEBUG % '"loud"'), "-q", "-e",
                     base(server))
    assert "options.httpDebug" in r.stderr, r


def test_http_debug_flag_in_quick_mode(stampede, server):
    r = stampede("run", "--url", server.url, "-q", "--iterations", "2", "--http-debug=full",
                 timeout=20, expect=EXIT_OK)
    err = r.stderr.replace("\r\n", "\n")
    assert err.count("Request:\nGET / HTTP/1.1\n") == 2, r
    assert err.count("Response:\nHTTP/1.1 200\n") == 2, r
    assert "Content-Length: 3" in err or "content-length: 3" in err, r
