"""An independent DL/T 645-2007 peer for the tests: the dlt645 package's meter server and client over TCP.

    dlt645_peer.py server ADDRESS DI=VALUE...     a meter at ADDRESS (twelve digits, as on its nameplate) holding each
                                                  data item DI (eight hex digits) at VALUE; prints "port N" once
                                                  listening, then serves until it is stopped
    dlt645_peer.py client HOST PORT ADDRESS DI... reads each data item and prints {DI: value} as JSON

The package writes an address's bytes in the order given, where the standard puts the low byte first: both sides
hand it the bytes already reversed, so that its frames are the standard's.
"""
import json
import logging
import socket
import sys
import time

logging.disable(logging.WARNING)

from dlt645 import MeterClientService, MeterServerService  # noqa: E402


def wire_order(address):
    return "".join(reversed([address[i : i + 2] for i in range(0, 12, 2)]))


def serve(address, items):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = MeterServerService.new_tcp_server("127.0.0.1", port, 5.0)
    server.set_address(bytes.fromhex(wire_order(address)))
    for item in items:
        identifier, value = item.split("=")
        di = int(identifier, 16)
        ok = server.set_00(di, float(value)) if di >> 24 == 0 else server.set_02(di, float(value))
        if not ok:
            sys.exit(f"cannot set {identifier}")
    server.start()
    print("port", port, flush=True)
    while True:
        time.sleep(3600)


def read(host, port, address, identifiers):
    client = MeterClientService.new_tcp_client(host, port, 2.0)
    client.set_address(wire_order(address))
    values = {}
    for identifier in identifiers:
        di = int(identifier, 16)
        item = client.read_00(di) if di >> 24 == 0 else client.read_02(di)
        if item is None:
            sys.exit(f"no answer for {identifier}")
        values[identifier] = item.value
    print(json.dumps(values), flush=True)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "server":
        serve(args[0], args[1:])
    else:
        read(args[0], int(args[1]), args[2], args[3:])
