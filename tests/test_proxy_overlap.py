"""The proxy matcher's time pre-filter (katui/analysis/proxy_overlap.py): a front connection is
matched only when its proxy's host had a connection to another server open at the same time;
the filter must never drop a front connection that has one (links unchanged: the proxy
captures' tests and the byte-identical reports check that on real traffic)."""

from __future__ import annotations

from types import SimpleNamespace

from katui.analysis.proxy_overlap import UpstreamSpans


def conn(client: str, server: str, start: int, end: int):
    return SimpleNamespace(client=client, server=server, start_ns=start, end_ns=end)


PROXY = "10.0.0.2:80"
BACKEND = "10.0.0.3:8080"


def test_overlap_with_an_upstream_connection_is_kept_at_every_edge():
    up = [conn("10.0.0.2:40000", BACKEND, 100, 200)]
    spans = UpstreamSpans(up, {})
    for lo, hi in ((50, 100), (200, 300), (120, 130), (0, 1000)):  # touching ends count
        assert spans.may_have_upstream(conn("10.0.0.1:5000", PROXY, lo, hi))
    for lo, hi in ((0, 99), (201, 300)):
        assert not spans.may_have_upstream(conn("10.0.0.1:5000", PROXY, lo, hi))


def test_the_proxys_own_server_connections_are_no_upstream():
    # The host's connections to the proxy's own listening address (a client on the proxy's
    # host, or two loopback servers) cannot carry this proxy's upstream requests.
    up = [conn("10.0.0.2:40000", PROXY, 0, 1000)]
    assert not UpstreamSpans(up, {}).may_have_upstream(conn("10.0.0.1:5000", PROXY, 10, 20))
    up.append(conn("10.0.0.2:40001", BACKEND, 500, 600))
    spans = UpstreamSpans(up, {})
    assert not spans.may_have_upstream(conn("10.0.0.1:5000", PROXY, 10, 20))
    assert spans.may_have_upstream(conn("10.0.0.1:5000", PROXY, 550, 560))


def test_a_second_address_of_the_proxy_counts():
    # nginx proxy_bind: upstream connections from 10.0.0.9, which a request id tied to PROXY.
    up = [conn("10.0.0.9:40000", BACKEND, 100, 200)]
    front = conn("10.0.0.1:5000", PROXY, 150, 160)
    assert not UpstreamSpans(up, {}).may_have_upstream(front)
    assert UpstreamSpans(up, {"10.0.0.9": PROXY}).may_have_upstream(front)


def test_loopback_servers_at_different_times_are_not_matched():
    # Two load tests one after the other on loopback: each server looks like the other's
    # proxy (one host opens connections to both), but their connections never overlap.
    first = [conn(f"127.0.0.1:{40000 + i}", "127.0.0.1:9800", i * 10, i * 10 + 5) for i in range(100)]
    second = [
        conn(f"127.0.0.1:{50000 + i}", "127.0.0.2:9800", 5000 + i * 10, 5000 + i * 10 + 5) for i in range(100)
    ]
    spans = UpstreamSpans(first + second, {})
    assert not any(spans.may_have_upstream(c) for c in first + second)
    late = conn("127.0.0.1:60000", "127.0.0.1:9800", 5003, 5004)  # overlaps the second test
    assert spans.may_have_upstream(late)
