"""GET /service/metrics read with Prometheus' own OpenMetrics parser (prometheus_client):
after known traffic, the counters moved by exactly the requests made."""

import urllib.error
import urllib.request

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def scrape(server):
    with urllib.request.urlopen(server.url + "/service/metrics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8"
        text = r.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):  # raises on anything not OpenMetrics
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return text, samples


def requests(samples, operation, status):
    key = ("prosody_admin_requests_total", (("host", "localhost"), ("operation", operation), ("status", str(status))))
    return samples.get(key, 0)


def get(server, path, token=None):
    req = urllib.request.Request(server.url + path, headers={"Authorization": "Bearer " + (token or server.token)})
    try:
        with urllib.request.urlopen(req) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_counters_move_by_exactly_the_requests_made(server):
    _, before = scrape(server)
    for _ in range(3):
        assert get(server, "/users") == 200
    for _ in range(2):
        assert get(server, "/users/nobody") == 404
    assert get(server, "/groups", token="secret-token:bm9wZQ") == 401
    assert get(server, "/nothing/here") == 404
    text, after = scrape(server)

    def moved(op, status):
        return requests(after, op, status) - requests(before, op, status)

    assert moved("listUsers", 200) == 3
    assert moved("getUserByName", 404) == 2
    assert moved("listGroups", 401) == 1
    assert moved("none", 404) == 1
    # the first scrape is counted once the second is taken
    assert moved("getServiceMetrics", 200) == 1
    # the histogram counted the same requests
    count = ("prosody_admin_request_duration_seconds_count", (("host", "localhost"), ("operation", "listUsers")))
    assert after[count] - before.get(count, 0) == 3
    # three GET /users: cached answers after the first build at most
    hits = after[("prosody_admin_response_cache_hits_total", ())] - before[("prosody_admin_response_cache_hits_total", ())]
    misses = after[("prosody_admin_response_cache_misses_total", ())] - before[("prosody_admin_response_cache_misses_total", ())]
    assert hits + misses == 3 + 2  # the listing and the two user lookups are cacheable
    assert ("prosody_admin_build_info", (("prosody_layout", "13"), ("spec_version", "1.0.0"), ("version", "0.1.0"))) in after
    for name in ("prosody_admin_pool_acquires_total", "prosody_admin_database_busy_retries_total",
                 "prosody_admin_commits_total", "prosody_admin_writes_total", "prosody_admin_pool_wait_seconds_total",
                 "prosody_admin_split_listings_total", "prosody_admin_unsplit_listings_total"):
        assert (name, ()) in after, name
    # no secrets, no usernames
    assert server.token not in text and "nobody" not in text and "alice" not in text
