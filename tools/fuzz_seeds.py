#!/usr/bin/env python3
"""Writes raw seed inputs for the fuzz targets of tests/fuzz into OUT/<name>/.

The messages are shaped like encode_message() writes them (compact JSON,
keys sorted, "type" and "v": 1). tools/fuzz.sh does not need this: the
minimised seeds are committed in tests/fuzz/corpus/. To refresh them after a
protocol change:

    tools/fuzz_seeds.py /tmp/seeds
    build-fuzz/fuzz/fuzz_NAME -merge=1 NEWDIR /tmp/seeds/NAME   (NEWDIR empty)
    then replace tests/fuzz/corpus/NAME with NEWDIR
"""

import hashlib
import json
import os
import struct
import sys


def msg(kind, **fields):
    fields["type"] = kind
    fields["v"] = 1
    return json.dumps(fields, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


MS_LIST = dict(seq=4, list=["ms1.example:8250", "10.0.0.2"], algorithm="static", interval=0, avoid=[])
MESSAGES = [
    msg("hello", name="agent-1", zone="zone-a", list="ms1.example:8250,10.0.0.2@static", interval=0,
        version="0.1.0"),
    msg("hello", name="agent-1", zone="", list="", interval=300),
    msg("hello", name="agent-1", zone="zone-a", list="10.0.0.2,[fd00::3]:8250,ms1.example@roundrobin",
        interval=300),
    msg("hello", name="agent-1", zone="zone-a", list="ms1.example@shuffle", interval=0),
    msg("ping", seq=1),
    msg("pong", seq=2),
    msg("ack", seq=3),
    msg("renew", csr="-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"),
    msg("ms_list", **MS_LIST),
    msg("ms_list", seq=9, list=["[fd00::3]:8250", "ms1.example"], algorithm="roundrobin", interval=300,
        avoid=["10.0.0.2"]),
    msg("ms_list", seq=10, list=["a", "b"], algorithm="hash", interval=31536001, avoid=[]),
    msg("welcome", host_id=7, server="ms1", heartbeat_interval=10),
    msg("welcome", host_id=7, server="ms1", heartbeat_interval=10, correction=MS_LIST),
    msg("welcome", host_id=7, server="ms1", heartbeat_interval=9223372036854775807),
    msg("migrate", reason="rebalancing", avoid=["ms1.example"]),
    msg("migrate", reason="shutting down"),
    msg("certificate", certificate="@issued", ca=""),
    msg("certificate", certificate="@issued", ca="@ca"),
    msg("certificate", certificate="@other", ca="@other-ca"),
    msg("certificate", certificate="@other", ca=""),
    msg("error", code="identity_mismatch", message="hello names a host other than the certificate's"),
    msg("enroll", token="tok", csr="csr", name="agent-1", zone=""),
    msg("enrolled", host_id=7, name="agent-1", zone="zone-a", certificate="c", ca="a", list=["a"],
        algorithm="static", interval=0),
    msg("app", kind="message", app="cloudstack", epoch=5, sequence=9, floor=7, reply_to=3,
        content_type="text/plain", payload="aGkgdGhlcmU="),
    msg("relay", to="host", host="kvm-01", kind="message", app="cloudstack", epoch=5, sequence=9, floor=7,
        payload="aGk="),
    msg("relay", to="app", host="kvm-01", kind="undeliverable", app="x", epoch=5, sequence=9,
        payload="bm8gaG9zdA=="),
]
BAD_PAYLOADS = [
    b"not json",
    b"[1,2]",
    b'{"v":1}',
    b'{"type":"ping","v":2,"seq":1}',
    b'{"type":"ping","v":-1,"seq":1}',
    b'{"type":7,"v":1}',
    b'{"type":"ping","v":1,"seq":-1}',
    b'{"type":"ping","v":1,"seq":"1"}',
    b'{"type":"nope\\u0001","v":1}',
    b'{"type":"ms_list","v":1,"seq":1,"list":["a",2],"algorithm":"static","interval":0,"avoid":[]}',
    b'{"type":"welcome","v":1,"host_id":1,"server":"s","heartbeat_interval":1,"correction":{"seq":1}}',
    b'{"type":"hello","v":1,"name":"\xff\xfe","zone":"","list":"","interval":0}',
]


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def frames():
    out = []
    for i, payload in enumerate(MESSAGES[:8]):
        out.append(bytes([i, 7 * i]) + frame(payload))
    out.append(b"\x01\x02" + b"".join(frame(p) for p in MESSAGES[4:9]))
    out.append(b"\x03\x04" + frame(MESSAGES[4]) + struct.pack(">I", 0) + frame(MESSAGES[5]))
    out.append(b"\x05\x06" + frame(MESSAGES[4]) + struct.pack(">I", 65537))
    out.append(b"\x07\x08" + struct.pack(">I", 65536) + b"x" * 65536)
    out.append(b"\x09\x0a" + frame(MESSAGES[4])[:-3])
    out.append(b"\x0b\x0c" + b"\x00\x00")
    return out


PROPERTIES = [
    b"# agent.properties\nhost=ms1.example:8250,10.0.0.2@static\nhost.lb.check.interval=0\nzone=zone-a\n"
    b"name=agent-1\nid=7\n",
    b"# c\r\na=1\r\n\r\nb = 2 \r\n",
    b"! bang comment\n  key\t=\tvalue with spaces  \nkey=again\n",
    b"a=1\nb=2\x00\x00a=3",
    b"a=1\nb=2\x00\x00c=new value",
    b"host = x\x00\x00host=y,z@roundrobin",
    b"a=1\r\r\n",  # a CR kept in the value used to come back shorter
    b"novalue\n",
    b" =x\n",
]

LB_VALUES = [
    b"ms1.example.com", b"10.0.0.1:8250, [::1], ms.example", b"[fd00::1]:9000", b"fd00::1",
    b"a,b,c", b"A,a:8250", b"a,,b", b"10.0.0.256", b"10.0.0.01", b"a:0", b"a:65536", b"a:00080",
    b"a,b@roundrobin", b"a@shuffle", b"a,b", b"@static", b"a@", b" a , b @ static ", b"a@hash",
    b"static", b"roundrobin", b"shuffle", b"Static", b"300", b"31536000", b"31536001", b"-5", b"007",
    b"host", b"indirect.agent.lb.algorithm", b"indirect.agent.lb.check.interval",
    b"/.0",  # a non-digit IPv4 part used to reach std::stoi
    b"1.\t2.3.4",
]


def hello_inputs():
    out = []
    hellos = [m for m in MESSAGES if b'"hello"' in m] + [MESSAGES[4]]
    for situation in (0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x60, 0x80, 0xC8):
        for payload in hellos:
            out.append(bytes([situation]) + payload)
    return out


def agent_inputs():
    out = []
    for state in (0x00, 0x08, 0x10, 0x30, 0x40, 0x07, 0x0D):
        for payload in MESSAGES:
            out.append(bytes([state]) + payload)
    return out


# The push-back line a busy server writes instead of TLS, and a TLS record.
PUSH_BACKS = [
    b"AGENTLB-BUSY retry-after-ms=0\r\n",
    b"AGENTLB-BUSY retry-after-ms=250\r\n",
    b"AGENTLB-BUSY retry-after-ms=60000\r\n",
    bytes([0x16, 0x03, 0x03, 0x00, 0x7A, 0x02]),
]


def write(root, name, inputs):
    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    for data in inputs:
        with open(os.path.join(folder, hashlib.sha1(data).hexdigest()), "wb") as f:
            f.write(data)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tools/fuzz_seeds.py OUT")
    root = sys.argv[1]
    write(root, "frame", frames())
    write(root, "message", MESSAGES + BAD_PAYLOADS)
    write(root, "properties", PROPERTIES)
    write(root, "lb_config", LB_VALUES)
    write(root, "mgmt_hello", hello_inputs())
    write(root, "agent_server_message", agent_inputs())
    write(root, "push_back", PUSH_BACKS)


if __name__ == "__main__":
    main()
