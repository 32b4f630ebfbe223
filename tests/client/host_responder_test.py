#!/usr/bin/env python3
"""The Python example's receiving side (client/examples/host_responder.py),
against a scripted agentlb on a Unix socket: an early message waits in the
window and nothing is acknowledged before the first message is handed on
(an ack of 0 is no frame: agentlb would refuse it and close the connection).
"""

import os
import socket
import sys
import tempfile
import threading
import unittest

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "client", "examples"))
import host_responder as hr  # noqa: E402


class ScriptedAgent:
    """Accepts one client, welcomes it, then plays what the test says."""

    def __init__(self, path):
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(1)
        self.conn = None
        self.buffer = b""
        self.accepted = threading.Thread(target=self._accept)
        self.accepted.start()

    def _accept(self):
        self.conn, _ = self.server.accept()
        hello = self.read_frame()
        assert hello["kind"] == hr.HELLO
        self.conn.sendall(hr.encode(hr.WELCOME, peer=b"h1"))

    def read_frame(self):
        self.conn.settimeout(5.0)
        while True:
            if len(self.buffer) >= 4:
                length = int.from_bytes(self.buffer[:4], "big")
                if len(self.buffer) >= 4 + length:
                    body, self.buffer = self.buffer[4:4 + length], self.buffer[4 + length:]
                    return hr.decode(body)
            self.buffer += self.conn.recv(65536)

    def send_message(self, sequence, payload):
        self.conn.sendall(hr.encode(hr.MESSAGE, 9, sequence, 1, 0, b"cloudstack", b"", payload))


class WindowTest(unittest.TestCase):
    def test_an_early_message_waits_and_nothing_is_acknowledged_before_the_first(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "app.sock")
            agent = ScriptedAgent(path)
            client = hr.Client(path, "kvm-agent")
            client.connect()
            agent.accepted.join()

            agent.send_message(2, b"second")
            self.assertIsNone(client.receive(1.0))
            agent.send_message(1, b"first")
            self.assertEqual(client.receive(1.0)["payload"], b"first")
            self.assertEqual(client.receive(0.1)["payload"], b"second")
            # The only acknowledgement covers both: none went out for the early one.
            ack = agent.read_frame()
            self.assertEqual((ack["kind"], ack["epoch"], ack["sequence"]), (hr.ACK, 9, 2))
            # A repeat is acknowledged again and not handed on twice.
            agent.send_message(1, b"first")
            self.assertIsNone(client.receive(1.0))
            ack = agent.read_frame()
            self.assertEqual(ack["sequence"], 2)


if __name__ == "__main__":
    unittest.main()
