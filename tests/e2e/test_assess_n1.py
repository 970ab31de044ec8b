"""`stampede assess` on the demo with N+1 queries on (/api/users/1/orders: a 1 ms query per
order, 28 orders, 4 workers: about 133 responses/s): the assessment names the N+1 pattern
from the scraped query counter, and its breaking point is within 20% of that capacity."""

import pytest

from assess_common import check_common, quickstart


@pytest.fixture(scope="module")
def assessed(tmp_path_factory):
    return quickstart("n+1", tmp_path_factory)


def test_names_the_n_plus_one(assessed):
    p, a = assessed
    check_common(p, a, known_capacity=133)
    q = a.findings("queries")
    assert q and q[0]["impact"] == "high" and q[0]["text"].startswith("N+1 queries"), q
    per = {e["metric"]: e["value"] for e in a.doc["perRequest"]}
    # 2 queries + one per order (28): what the demo's counter says, per request
    assert 25 <= per["target_demo_db_queries_total"] <= 31, per
    assert "N+1" in p.stdout
