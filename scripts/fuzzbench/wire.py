"""Serial peers: Modbus RTU replies on a pty, OSDP replies into libosdp's control
panel, and the event dicts libosdp hands up to OsdpReader."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import tty

from .harness import Harness
from .inputs import mutate_bytes, rand_bytes


def crc16_modbus(data: bytes) -> bytes:
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc.to_bytes(2, "little")


def rtu(body: bytes) -> bytes:
    return body + crc16_modbus(body)


class SerialModbus(Harness):
    """ModbusRelay on one end of a pty; this end answers each request with the next reply."""
    quick = 30
    TIMEOUT = 0.05

    async def start(self):
        from hal.modbus import ModbusRelay
        from hal.relay import RelayError
        self.RelayError = RelayError
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.replies: list[bytes] = []
        asyncio.get_running_loop().add_reader(self.master, self._request)
        self.relay = ModbusRelay(os.ttyname(self.slave), timeout=self.TIMEOUT)

    async def stop(self):
        await self.relay.close()
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        os.close(self.slave)

    def _request(self):
        with contextlib.suppress(BlockingIOError):
            os.read(self.master, 4096)
        if self.replies:
            reply = self.replies.pop(0)
            if reply:
                os.write(self.master, reply)

    def gen(self, rng):
        on = rng.random() < 0.5
        good = [rtu(bytes([1, 5, 0, 0, 0xFF if on else 0, 0])), rtu(bytes([1, 1, 1, int(on)]))]
        replies = []
        for i, valid in enumerate(good):
            r = rng.random()
            if r < 0.3:
                reply = valid
            elif r < 0.55:
                reply = mutate_bytes(rng, valid)
            elif r < 0.7:       # a well-formed frame saying something else
                fc = rng.choice([1, 5, 0x81, 0x85, 3, rng.randrange(256)])
                reply = rtu(bytes([rng.choice([1, 1, 2, 0]), fc]) + rand_bytes(rng, rng.randint(0, 6)))
            elif r < 0.8:       # a byte count that promises more than follows
                reply = rtu(bytes([1, 1, rng.choice([0, 2, 250, 255]), 1]))
            elif r < 0.9:
                reply = rand_bytes(rng, rng.randint(1, 24))
            else:
                reply = b""     # silence
            replies.append(reply)
        return (on, replies)

    async def check(self, x):
        on, replies = x
        self.replies = list(replies)
        try:
            await self.relay.set(on)
        except self.RelayError:
            pass
        self.replies = []


class OsdpEvents(Harness):
    """libosdp's event dicts, with fields libosdp could report (any length, format, reader)."""

    async def start(self):
        from osdp import CardFormat, Event, StatusReportType
        from hal.osdp import OsdpReader
        self.seen = []
        self.reader = OsdpReader("/nonexistent/osdp-fuzz", on_event=self.seen.append)
        self.reader._loop = asyncio.get_running_loop()
        self.reader._state_changed = asyncio.Event()
        self.Event, self.CardFormat, self.StatusReportType = Event, CardFormat, StatusReportType

    async def stop(self):
        self.reader._closed = True
        if self.reader._reconnect is not None:
            self.reader._reconnect.cancel()

    def gen(self, rng):
        E = self.Event
        kind = rng.choice([E.CardRead, E.KeyPress, E.Status, E.Notification, E.ManufacturerReply])
        data = rand_bytes(rng, rng.choice([0, 1, 4, 8, rng.randint(0, 64)]))
        if kind == E.CardRead:
            event = {"event": kind, "reader_no": rng.choice([0, 1, 255]), "direction": 0,
                     "format": rng.choice([self.CardFormat.Unspecified, self.CardFormat.Wiegand, self.CardFormat.ASCII, 99]),
                     "length": rng.choice([len(data) * 8, 26, 0, 1, 65535, rng.randint(0, 600)]), "data": data}
        elif kind == E.KeyPress:
            event = {"event": kind, "reader_no": rng.randint(0, 255), "data": data}
        elif kind == E.Status:
            types = self.StatusReportType
            event = {"event": kind, "type": rng.choice([types.Local, types.Input, types.Output, types.Remote, 42]),
                     "report": data}
        elif kind == E.Notification:
            event = {"event": kind, "type": rng.choice([0, 1, 2, 3, 42]), "arg0": rng.choice([0, 1, -1, 2**31]),
                     "arg1": rng.randint(0, 10)}
        else:
            event = {"event": kind, "vendor_code": rng.randint(0, 2**24), "command": rng.randint(0, 255),
                     "data": data}
        if kind != E.Notification:      # libosdp always fills a notification's type and arg0
            for key in rng.sample(sorted(event), rng.choice([0, 0, 0, 1])):
                if key != "event":
                    del event[key]
        return event

    def check(self, event):
        from hal.events import CardPresented
        from panel.access.cards import CardError, card_number
        self.seen.clear()
        self.reader._handle_event(dict(event))
        for e in self.seen:             # a card read goes on to the panel's card check
            if isinstance(e, CardPresented):
                with contextlib.suppress(CardError):
                    card_number(e.format, e.bits, e.data)


def crc16_osdp(data: bytes) -> bytes:
    """CRC-16/AUG-CCITT, as OSDP frames carry it (least significant byte first)."""
    crc = 0x1D0F
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc.to_bytes(2, "little")


def osdp_reply(seq: int, code: int, data: bytes, address: int = 0) -> bytes:
    body = bytes([0x53, address | 0x80]) + (len(data) + 8).to_bytes(2, "little") + bytes([0x04 | seq, code]) + data
    return body + crc16_osdp(body)


class _ReplyChannel:
    """libosdp's channel to a made-up PD: each packet the CP writes is answered at once with
    the next reply of the input, framed with the packet's sequence number and a good CRC
    (then mutated, for "mutated" replies; "raw" bytes go as they are)."""

    def __init__(self, replies):
        import osdp

        class Channel(osdp.Channel):
            def read(ch, n):
                data = bytes(self.inbox[:n])
                del self.inbox[:n]
                return data

            def write(ch, buf):
                self.written += 1
                if self.replies:
                    buf = bytes(buf)
                    i = buf.find(0x53)
                    seq = buf[i + 4] & 3 if 0 <= i < len(buf) - 4 else 0
                    kind, *rest = self.replies.pop(0)
                    if kind == "raw":
                        self.inbox += rest[0]
                    else:
                        frame = osdp_reply(seq, rest[0], rest[1])
                        self.inbox += mutate_bytes(random.Random(rest[2]), frame) if kind == "mutated" else frame
                return len(buf)

            def flush(ch):
                self.inbox.clear()

        self.inbox = bytearray()
        self.replies = list(replies)
        self.written = 0
        self.channel = Channel()


OSDP_ID = ("framed", 0x45, bytes.fromhex("bebafe0101afbeaddeaddead"))     # what libosdp's own PD answers


OSDP_CAP = ("framed", 0x46, bytes.fromhex("0201010301010401010501010801000901000a0001100200"))


class OsdpWire(OsdpEvents):
    """libosdp's control panel (hal.osdp.refresh.ControlPanel) reading made-up PD replies:
    after the PD's real ID and capabilities (usually), well-framed replies of every kind
    with random contents, mutated frames and raw garbage. What libosdp reports goes on
    through OsdpReader's event handling and the card decoding, as on the panel."""
    quick = 200

    def gen(self, rng):
        codes = [0x40, 0x41, 0x45, 0x46, 0x48, 0x49, 0x4A, 0x4B, 0x50, 0x51, 0x53, 0x54, 0x76, 0x78, 0x79,
                 0x7A, 0x90, 0xB1, rng.randrange(256)] + [0x50, 0x53, 0x48] * 4     # card, keys, tamper: often
        replies = [OSDP_ID, OSDP_CAP] if rng.random() < 0.7 else []
        for _ in range(rng.randint(1, 4)):
            code = rng.choice(codes)
            if code == 0x50 and rng.random() < 0.7:      # a card read: reader, format, bit count, bits
                bits = rng.choice([26, 0, 1, 8, 64, 65535, rng.randrange(65536)])
                data = bytes([rng.randrange(4), rng.randrange(3)]) + bits.to_bytes(2, "little") + \
                    rand_bytes(rng, rng.choice([(bits + 7) // 8 % 256, 0, 1, 4, rng.randint(0, 40)]))
            elif code == 0x53 and rng.random() < 0.7:    # key presses: reader, count, keys
                data = bytes([rng.randrange(4), rng.choice([0, 1, 4, 255])]) + rand_bytes(rng, rng.randint(0, 8))
            else:
                data = rand_bytes(rng, rng.choice([0, 1, 2, 5, 12, 24, rng.randint(0, 120)]))
            r = rng.random()
            if r < 0.6:
                replies.append(("framed", code, data))
            elif r < 0.9:
                replies.append(("mutated", code, data, rng.getrandbits(32)))
            else:
                replies.append(("raw", rand_bytes(rng, rng.randint(1, 40))))
        return replies

    def check(self, replies):
        import osdp

        from hal.events import CardPresented
        from hal.osdp.refresh import ControlPanel
        from panel.access.cards import CardError, card_number
        wire = _ReplyChannel(replies)
        events = []
        cp = ControlPanel([osdp.PDInfo(0, wire.channel, flags=[osdp.LibFlag.EnableNotification], name="fuzz")],
                          log_level=osdp.LogLevel.Emergency, event_handler=lambda pd, e: events.append(e))
        buzz = {"command": osdp.Command.Buzzer, "reader": 0, "control_code": 1, "on_count": 1, "off_count": 1,
                "rep_count": 1}
        for _ in range(60):
            cp.ctx.refresh()
            if not wire.replies and not wire.inbox:
                break
            if wire.written >= 2:
                cp.ctx.submit_command(0, buzz)       # online: a command, so the CP sends (and reads) at once
        cp.ctx.refresh()
        self.seen.clear()
        for event in events:
            self.reader._handle_event(dict(event))
        for e in self.seen:
            if isinstance(e, CardPresented):
                with contextlib.suppress(CardError):
                    card_number(e.format, e.bits, e.data)
