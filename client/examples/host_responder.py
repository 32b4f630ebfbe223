#!/usr/bin/env python3
"""An example of the host side of agentlb's app socket (docs/INTEGRATION.md).

It connects to agentlb-agent's --app-socket and answers every message from
the management application with "done: <the message>", as a hypervisor
agent answers a command. Standard library only. The streams are kept as the
protocol asks: each message numbered and held until acknowledged, everything
held sent again after a reconnect or a second without an acknowledgement;
what comes in is handed on once, in order, and acknowledged, keeping a window
of messages that came early (as the C++ library does).

    host_responder.py --socket /run/agentlb/app.sock [--name kvm-agent]
"""

import argparse
import collections
import socket
import struct
import sys
import time

HELLO, WELCOME, MESSAGE, ACK, UNDELIVERABLE, ERROR = range(1, 7)
FIXED = struct.Struct(">BQQQQ")  # kind, epoch, sequence, floor, reply_to
MAX_PAYLOAD = 32768
RESEND_AFTER = 1.0
WINDOW = 256  # early messages kept past the expected one


def encode(kind, epoch=0, sequence=0, floor=0, reply_to=0, peer=b"", content_type=b"", payload=b""):
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes: at most {MAX_PAYLOAD}")
    body = (FIXED.pack(kind, epoch, sequence, floor, reply_to) + bytes([len(peer)]) + peer +
            bytes([len(content_type)]) + content_type + payload)
    return struct.pack(">I", len(body)) + body


def decode(body):
    kind, epoch, sequence, floor, reply_to = FIXED.unpack_from(body)
    pos = FIXED.size
    names = []
    for _ in range(2):
        length = body[pos]
        names.append(body[pos + 1:pos + 1 + length])
        pos += 1 + length
    return dict(kind=kind, epoch=epoch, sequence=sequence, floor=floor, reply_to=reply_to,
                peer=names[0], content_type=names[1], payload=body[pos:])


class Client:
    def __init__(self, path, name):
        self.path, self.name = path, name.encode()
        self.epoch = time.time_ns() // 1000  # larger at each start
        self.sock, self.buffer = None, b""
        self.next_sequence = {}  # peer -> next sequence to use
        self.held = {}  # peer -> {sequence: (reply_to, content_type, payload)}
        self.expected = {}  # peer -> (epoch, next sequence to hand on)
        self.early = {}  # peer -> {sequence: frame}, at most WINDOW past the expected one
        self.ready = collections.deque()  # handed on, not yet returned by receive()
        self.last_sent = 0.0

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.path)
        sock.sendall(encode(HELLO, epoch=self.epoch, peer=self.name))
        self.sock, self.buffer = sock, b""
        frame = self.read_frame(5.0)
        if frame is None or frame["kind"] != WELCOME:
            reason = frame["payload"].decode(errors="replace") if frame else "no answer"
            raise ConnectionError(f"refused by {self.path}: {reason}")
        self.resend_all()

    def send(self, peer, payload, content_type=b"text/plain", reply_to=0):
        sequence = self.next_sequence.get(peer, 1)
        self.next_sequence[peer] = sequence + 1
        self.held.setdefault(peer, {})[sequence] = (reply_to, content_type, payload)
        self.write_message(peer, sequence)
        return sequence

    def write_message(self, peer, sequence):
        reply_to, content_type, payload = self.held[peer][sequence]
        floor = min(self.held[peer])
        self.sock.sendall(encode(MESSAGE, self.epoch, sequence, floor, reply_to, peer, content_type, payload))
        self.last_sent = time.monotonic()

    def resend_all(self):
        for peer, held in self.held.items():
            for sequence in sorted(held):
                self.write_message(peer, sequence)

    def read_frame(self, timeout):
        self.sock.settimeout(timeout)
        while True:
            if len(self.buffer) >= 4:
                (length,) = struct.unpack_from(">I", self.buffer)
                if len(self.buffer) >= 4 + length:
                    body, self.buffer = self.buffer[4:4 + length], self.buffer[4 + length:]
                    return decode(body)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not data:
                raise ConnectionError("agentlb closed the connection")
            self.buffer += data

    def receive(self, timeout):
        """The next message handed on, in order and once; None after `timeout`."""
        if self.ready:
            return self.ready.popleft()
        frame = self.read_frame(timeout)
        if frame is None:
            if any(self.held.values()) and time.monotonic() - self.last_sent > RESEND_AFTER:
                self.resend_all()
            return None
        peer = frame["peer"]
        if frame["kind"] == ACK and frame["epoch"] == self.epoch:
            for sequence in [s for s in self.held.get(peer, {}) if s <= frame["sequence"]]:
                del self.held[peer][sequence]
        elif frame["kind"] == MESSAGE:
            epoch, expected = self.expected.get(peer, (0, 1))
            if frame["epoch"] < epoch:
                return None  # an earlier run of that sender
            if frame["epoch"] > epoch:
                epoch, expected = frame["epoch"], 1
                self.early[peer] = {}
            early = self.early.setdefault(peer, {})
            if frame["floor"] > expected:  # what the sender gave up on
                expected = frame["floor"]
                for sequence in [s for s in early if s < expected]:
                    del early[sequence]
            if expected <= frame["sequence"] <= expected + WINDOW:
                early.setdefault(frame["sequence"], frame)
            while expected in early:
                self.ready.append(early.pop(expected))
                expected += 1
            self.expected[peer] = (epoch, expected)
            if expected > 1:  # nothing handed on yet: nothing to acknowledge
                self.sock.sendall(encode(ACK, epoch, expected - 1, peer=peer))
            return self.ready.popleft() if self.ready else None
        elif frame["kind"] == ERROR:
            raise ConnectionError(frame["payload"].decode(errors="replace"))
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="agentlb-agent's --app-socket")
    parser.add_argument("--name", default="host-responder", help="this client's name")
    args = parser.parse_args()
    client = Client(args.socket, args.name)
    while True:
        try:
            if client.sock is None:
                client.connect()
                print("connected", flush=True)
            message = client.receive(0.2)
            if message is not None:
                answer = b"done: " + message["payload"]
                client.send(message["peer"], answer, b"text/plain", message["sequence"])
        except (ConnectionError, OSError) as error:
            print(f"reconnecting: {error}", file=sys.stderr, flush=True)
            client.sock = None
            time.sleep(0.2)


if __name__ == "__main__":
    main()
