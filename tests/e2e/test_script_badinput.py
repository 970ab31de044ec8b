"""Bad values in scripts' HTTP calls are clear script errors and send nothing (issue #7).

Each case runs one iteration against a loopback EchoServer; the error is reported once in
script_errors with a message naming the problem, and the server receives no request for
the bad call (a NUL byte must never cut a URL or a method short on the wire).
"""

import pytest

from script_servers import echo_server, run_script, script_errors  # noqa: F401

CASES = {
    "nul_in_url": ('http.get(BASE .. "/a\\0/secret")', "the URL contains a NUL byte"),
    "nul_in_host": ('http.get("http://127.0.0.1\\0.example:1/")', "the URL contains a NUL byte"),
    "nul_in_method": ('http.request("GET\\0X", BASE .. "/")', "the method contains a NUL byte"),
    "long_method": ('http.request(string.rep("A", 100000) .. " ", BASE .. "/")',
                    "invalid method"),
    "timeout_zero": ('http.get(BASE .. "/", { timeout = 0 })', "invalid timeout"),
    "timeout_negative": ('http.get(BASE .. "/", { timeout = -1 })', "invalid timeout"),
    "timeout_nan": ('http.get(BASE .. "/", { timeout = 0/0 })', "invalid timeout"),
    "timeout_huge": ('http.get(BASE .. "/", { timeout = 1e300 })', "invalid timeout"),
    "timeout_string": ('http.get(BASE .. "/", { timeout = "-5s" })', "invalid timeout"),
    "redirects_bad": ('http.get(BASE .. "/", { redirects = "many" })',
                      "params.redirects must be an integer"),
    "batch_named": ('http.batch({ a = BASE .. "/", b = BASE .. "/" })',
                    "named keys are not supported"),
    "jar_max_age": ('http.cookieJar().set(BASE .. "/", "a", "1", { max_age = "x" })',
                    "max_age must be an integer"),
    "jar_nul_url": ('http.cookieJar().set(BASE .. "\\0evil/", "a", "1")',
                    "the URL contains a NUL byte"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_value_is_a_clear_script_error(tmp_path, echo_server, name):  # noqa: F811
    call, message = CASES[name]
    r = run_script(tmp_path, f"""
        options = {{ iterations = 1, vus = 1 }}
        function default() {call} end
    """, base=echo_server, expect=0)
    errs = script_errors(r.summary)
    assert len(errs) == 1 and errs[0]["count"] == 1, errs
    assert message in errs[0]["message"], errs
    assert len(errs[0]["message"]) < 600, errs      # a long value is not echoed whole
    assert echo_server.requests == 0, "the bad call sent a request"
