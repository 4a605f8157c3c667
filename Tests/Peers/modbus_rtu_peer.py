"""An independent Modbus RTU-over-TCP peer for the tests: pymodbus' RTU framer on a TCP socket.

    modbus_rtu_peer.py server UNIT START WORD...      serves WORD... as holding and input registers from address
                                                      START at UNIT; prints "port N" once listening, then serves
                                                      until it is stopped
    modbus_rtu_peer.py client HOST PORT UNIT FUNCTION START COUNT
                                                      reads COUNT registers and prints them as a JSON list
"""
import asyncio
import json
import logging
import sys

from pymodbus import FramerType
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import ModbusTcpServer

logging.disable(logging.WARNING)


async def serve(unit, start, words):
    # pymodbus' device context adds 1 to every requested address (its blocks count from 1).
    block = lambda: ModbusSequentialDataBlock(start + 1, words)
    context = ModbusServerContext(devices={unit: ModbusDeviceContext(hr=block(), ir=block())})
    server = ModbusTcpServer(context, framer=FramerType.RTU, address=("127.0.0.1", 0))
    serving = asyncio.create_task(server.serve_forever())
    while server.transport is None:
        await asyncio.sleep(0.01)
    print("port", server.transport.sockets[0].getsockname()[1], flush=True)
    await serving


async def read(host, port, unit, function, start, count):
    client = AsyncModbusTcpClient(host, port=port, framer=FramerType.RTU, timeout=2, retries=0)
    await client.connect()
    if function == 3:
        answer = await client.read_holding_registers(start, count=count, device_id=unit)
    else:
        answer = await client.read_input_registers(start, count=count, device_id=unit)
    client.close()
    if answer.isError():
        sys.exit(f"exception {answer.exception_code}")
    print(json.dumps(answer.registers), flush=True)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "server":
        asyncio.run(serve(int(args[0]), int(args[1]), [int(word) for word in args[2:]]))
    else:
        asyncio.run(read(args[0], int(args[1]), *[int(a) for a in args[2:]]))
