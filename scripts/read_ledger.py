#!/usr/bin/env python3
"""Read a tracing ledger without our code: LMDB + protobuf, following docs/format.md.

    pip install -r scripts/python/requirements.txt
    python3 scripts/read_ledger.py LEDGER [--verify] [--print N]

--verify walks the whole log, checks positions and the hash chain, decodes every payload, and
prints the event count and head hash (the same as `ledgerctl info`). Exit 1 on a failure.
"""
import argparse
import hashlib
import os
import struct
import sys
import uuid

import lmdb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "python"))
from tracing.v1 import events_pb2  # noqa: E402
from google.protobuf import json_format  # noqa: E402

HEADER = struct.Struct("<32s16sQqqHBBB")  # hash, id, streamVersion, occurredAt, recordedAt, schema, T, P, S


def parse(value):
    digest, raw_id, version, occurred, recorded, schema, t, p, s = HEADER.unpack_from(value, 0)
    at = HEADER.size
    type_name = bytes(value[at:at + t]).decode("utf-8")
    platform = bytes(value[at + t:at + t + p]).decode("utf-8")
    stream = bytes(value[at + t + p:at + t + p + s]).decode("utf-8")
    payload = bytes(value[at + t + p + s:])
    return {
        "hash": bytes(digest), "id": str(uuid.UUID(bytes=bytes(raw_id))), "streamVersion": version,
        "occurredAt": occurred, "recordedAt": recorded, "schemaVersion": schema, "type": type_name,
        "platform": platform, "stream": stream, "payload": payload,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ledger")
    parser.add_argument("--verify", action="store_true")
    parser.add_argument("--print", type=int, default=0, metavar="N")
    args = parser.parse_args()

    env = lmdb.open(args.ledger, readonly=True, lock=False, max_dbs=8, subdir=True)
    meta = env.open_db(b"meta", create=False)
    events = env.open_db(b"events", create=False)
    with env.begin() as txn:
        version = struct.unpack("<I", txn.get(b"format_version", db=meta))[0]
        if version != 1:
            sys.exit(f"unsupported format version {version}")
        previous = bytes(32)
        expected = 1
        for key, value in txn.cursor(db=events):
            position = struct.unpack(">Q", key)[0]
            event = parse(value)
            if args.verify:
                if position != expected:
                    sys.exit(f"position {expected}: missing")
                digest = hashlib.sha256(previous + bytes(value[32:])).digest()
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
            print(f"events {expected - 1} head {previous.hex()}")


if __name__ == "__main__":
    main()
