"""`stampede assess` on the demo leaking 64 KiB per request (at 30/s): the assessment names the
memory leak of the watched target (its RSS growing in the soak), and the leak only: its
capacity is far above the breakpoint's safety cap, so there is no breaking point."""

import pytest

from assess_common import check_common, quickstart


@pytest.fixture(scope="module")
def assessed(tmp_path_factory):
    return quickstart("leak", tmp_path_factory)


def test_names_the_leak(assessed):
    p, a = assessed
    check_common(p, a)
    leaks = a.findings("leak")
    assert leaks and leaks[0]["impact"] == "high", a.text()
    assert "A memory leak (target_rss_bytes" in leaks[0]["text"], leaks
    assert a.doc["leaks"]["verdicts"]["target_rss_bytes"]["leaking"] is True
    # 64 KiB a request: the leak's own estimate per request is near it
    per = a.doc["leaks"]["verdicts"]["target_rss_bytes"]["perRequest"]
    assert 32 * 1024 <= per <= 128 * 1024, per


def test_no_breaking_point_below_the_cap(assessed):
    p, a = assessed
    bp = a.doc["breakingPoint"]
    assert bp["found"] is False, bp
    assert any("No breaking point up to the safety cap" in f["text"]
               for f in a.findings("breaking point"))
