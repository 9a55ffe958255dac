#!/usr/bin/env python3
"""Read a tracing ledger without our code: LMDB + protobuf, following docs/format.md.

    pip install -r scripts/python/requirements.txt
    python3 scripts/read_ledger.py LEDGER [--verify] [--print N] [--stream NAME]

--verify walks the whole log, checks positions and the hash chain, decodes every payload, and
prints the event count and head hash (the same as `ledgerctl info`). Exit 1 on a failure.
"""
import argparse
import hashlib
import os
import struct
import sys
import unicodedata
import uuid

import lmdb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "python"))
from tracing.v1 import events_pb2  # noqa: E402
from google.protobuf import json_format  # noqa: E402

def varint(value, at):
    """An unsigned LEB128 varint at `at`: (value, next offset)."""
    result = shift = 0
    while True:
        byte = value[at]
        at += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, at
        shift += 7


def unzigzag(n):
    return (n >> 1) ^ -(n & 1)


def parse(value, names, stream_names, txn):
    """A version 2 record: hash, id, seven varints, payload (docs/format.md, "The event record")."""
    digest, raw_id = bytes(value[0:32]), bytes(value[32:48])
    at = 48
    fields = []
    for _ in range(7):
        number, at = varint(value, at)
        fields.append(number)
    stream_number, version, type_number, platform_number, schema, occurred, delay = fields
    occurred = unzigzag(occurred)

    def name(number, kind):
        stored = txn.get(struct.pack(">I", number), db=names)
        if stored is None or stored[0] != kind:
            raise ValueError(f"name number {number} is not of kind {kind} in names")
        return bytes(stored[1:]).decode("utf-8")

    stream = txn.get(struct.pack(">Q", stream_number), db=stream_names)
    if stream is None:
        raise ValueError(f"stream number {stream_number} is missing from stream_names")
    return {
        "hash": digest, "id": str(uuid.UUID(bytes=raw_id)), "streamNumber": stream_number,
        "streamVersion": version, "occurredAt": occurred, "recordedAt": occurred + unzigzag(delay),
        "schemaVersion": schema, "type": name(type_number, 1), "platform": name(platform_number, 2),
        "stream": bytes(stream).decode("utf-8"), "payload": bytes(value[at:]),
    }


def stream_positions(txn, streams, stream_events, stream):
    """The positions of one stream's events, in version order: the duplicates of its number."""
    entry = txn.get(stream.encode("utf-8"), db=streams)
    if entry is None:
        return []
    number = entry[0:8]
    cursor = txn.cursor(db=stream_events)
    if not cursor.set_key(number):
        return []
    return [struct.unpack(">Q", value)[0] for value in cursor.iternext_dup()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ledger")
    parser.add_argument("--verify", action="store_true")
    parser.add_argument("--print", type=int, default=0, metavar="N")
    parser.add_argument("--stream", metavar="NAME", help="print the positions of one stream's events")
    args = parser.parse_args()

    env = lmdb.open(args.ledger, readonly=True, lock=False, max_dbs=16, subdir=True)
    meta = env.open_db(b"meta", create=False)
    with env.begin() as txn:
        version = struct.unpack("<I", txn.get(b"format_version", db=meta))[0]
    if version != 2:
        sys.exit(f"unsupported format version {version}" + (
            " (convert it with 'ledgerctl migrate --from OLD --to NEW')" if version == 1 else ""))
    events = env.open_db(b"events", create=False)
    names = env.open_db(b"names", create=False)
    stream_names = env.open_db(b"stream_names", create=False)
    streams = env.open_db(b"streams", create=False)
    stream_events = env.open_db(b"stream_events", create=False, dupsort=True, dupfixed=True)
    with env.begin() as txn:
        if args.stream:
            print(*stream_positions(txn, streams, stream_events, unicodedata.normalize("NFC", args.stream)))
            return
        previous = bytes(32)
        expected = 1
        for key, value in txn.cursor(db=events):
            position = struct.unpack(">Q", key)[0]
            event = parse(value, names, stream_names, txn)
            if args.verify:
                if position != expected:
                    sys.exit(f"position {expected}: missing")
                spelled = "\0".join((event["type"], event["platform"], event["stream"])).encode("utf-8")
                digest = hashlib.sha256(previous + bytes(value[32:]) + spelled).digest()
                if digest != event["hash"]:
                    sys.exit(f"position {position}: hash chain broken")
                message = getattr(events_pb2, event["type"])()
                message.ParseFromString(event["payload"])
                previous = digest
            expected = position + 1
            if position <= args.print:
                message = getattr(events_pb2, event["type"])()
                message.ParseFromString(event["payload"])
                data = json_format.MessageToDict(message)
                print(position, event["stream"], event["streamVersion"], event["type"], event["platform"], data)
            elif not args.verify and position > args.print:
                break
        if args.verify:
            indexed = txn.stat(stream_events)["entries"]
            if indexed != expected - 1:
                sys.exit(f"stream_events holds {indexed} entries for {expected - 1} events")
            print(f"events {expected - 1} head {previous.hex()}")


if __name__ == "__main__":
    main()
