"""The spread of connections over worker processes, read from this kernel's /proc: a listening
socket of this test process, some connections accepted, others left in the listen queue."""

import os
import socket

from suite.measure import connections
from suite.record.results import Spread


def test_accepted_connections_count_for_their_process_and_the_rest_are_queued():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
        accepted = [listener.accept()[0] for _ in range(3)]
        try:
            found = connections.spread([os.getpid()], port, at_s=1.0)
        finally:
            for s in clients + accepted:
                s.close()
    # This process listens and has no child that does: it is the one worker. The clients'
    # own sockets have other local ports and do not count.
    assert found == Spread(workers=[3], queued=2, at_s=1.0)
    assert found.total == 5 and found.imbalance is None


def test_no_process_listening_on_the_port_is_no_spread():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        assert connections.spread([os.getpid()], port, at_s=0.0) is None
    assert connections.spread([], port, at_s=0.0) is None


def test_imbalance_is_the_busiest_share_over_an_even_one():
    spread = Spread(workers=[119, 81], queued=0, at_s=5.0)
    assert spread.busiest_share == 0.595 and round(spread.imbalance, 2) == 1.19
    assert spread.text == "119/81"
    assert Spread(workers=[100, 100], queued=3, at_s=5.0).text == "100/100 (+3 queued)"
    assert Spread(workers=[0, 0], queued=7, at_s=5.0).busiest_share is None


def test_a_master_that_forked_its_workers_is_not_one_of_them():
    # A master (1) and two workers sharing its listening socket (100): three connections
    # held, one not accepted yet, one accepted and already gone (no keep-alive).
    snapshot = connections.Snapshot(established=[201, 202, 203, 0, 204], listening={100},
                                    held={1: {100}, 7: {100, 201, 202}, 8: {100, 203}},
                                    parents={1: 0, 7: 1, 8: 1})
    assert connections.spread_of(snapshot, 2.0) == Spread(workers=[2, 1], queued=1, at_s=2.0,
                                                          passing=1)
    assert connections.spread_of(connections.Snapshot(held={1: {5}}), 2.0) is None
