"""The harness's own promises that the other modules rely on: each server gets a port no other
test's server holds, and a server counts as started only once it is the one listening there."""
import os
import socket

from conftest import Server, free_port, listens_on


def test_ports_handed_out_are_distinct_and_bindable():
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    for port in ports[:20]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_a_port_counts_as_a_servers_only_while_that_process_listens_on_it():
    srv = Server().start()
    try:
        assert listens_on(srv.proc.pid, srv.port)
        assert listens_on(srv.proc.pid, srv.cluster_port)
        assert not listens_on(os.getpid(), srv.port)  # answering there is not enough
        # A second server told to take the same port fails to start; it is never taken for the
        # first one, which answered there.
        twin = Server()
        twin.port, twin.base = srv.port, srv.base
        twin.args[twin.args.index("--listen") + 1] = "127.0.0.1:%d" % srv.port
        try:
            twin.start(timeout=10)
            raise AssertionError("a server that could not listen counted as started")
        except RuntimeError as error:
            assert "exited" in str(error) or "did not become healthy" in str(error), error
        finally:
            twin.kill()
    finally:
        assert srv.stop() == 0
    assert not listens_on(srv.proc.pid, srv.port)
