#!/usr/bin/env python3
"""Read a tracing ledger's read model (LEDGER.projections/) without our code, from docs/format.md.

    pip install -r scripts/python/requirements.txt
    python3 scripts/read_projections.py LEDGER [--by month]

Prints the checkpoint, then per platform and month: patients zéro, contacts, followed, outbound calls
and SMS, as CSV (the same figures as `ledgerctl stats --by month --format csv`). Every case row is
decoded too, and counted. Exit 1 when a row does not decode as the format says.
"""
import argparse
import datetime
import struct
import sys

import lmdb

COUNTERS = [
    "patientsZero", "contacts", "patientsZeroWithResult", "patientsZeroReachedWithin24h",
    "contactsDeclared", "contactsNotifiedWithin24h", "patientsZeroWithoutContact", "casesReached",
    "casesDigitalOnly", "contactsLaterPositive", "outboundCalls", "outboundReached", "inboundCalls",
    "landlineCalls", "sms", "smsDelivered", "letters", "teleservice", "clusters",
    "identityConsultations",
]


class Reader:
    def __init__(self, data):
        self.data = bytes(data)
        self.at = 0

    def byte(self):
        value = self.data[self.at]
        self.at += 1
        return value

    def varint(self):
        value, shift = 0, 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return value
            shift += 7

    def int(self):
        raw = self.varint()
        return (raw >> 1) ^ -(raw & 1)

    def string(self):
        n = self.varint()
        text = self.data[self.at:self.at + n].decode("utf-8")
        self.at += n
        return text

    def opt(self, read):
        return read() if self.byte() else None

    def end(self):
        if self.at != len(self.data):
            raise ValueError(f"{len(self.data) - self.at} bytes left over")


def case_state(value):
    r = Reader(value)
    state = {"person": r.string(), "role": [None, "patientZero", "contact", "coExposed"][r.byte()]}
    state["platform"] = r.string()
    state["platformFactAt"] = r.opt(r.int)
    state["platformFromOpening"] = bool(r.byte())
    state["status"] = ["toReach", "reached", "isolating", "closed"][r.byte()]
    for name in ["openedAt", "labResultAt", "declaredAt"]:
        state[name] = r.opt(r.int)
    state["attempts"] = [r.int() for _ in range(6)]
    for name in ["firstReachAt", "firstCallReachAt", "firstNotifiedAt"]:
        state[name] = r.opt(r.int)
    state["patientZeroCase"] = r.opt(r.string)
    state["contacts"] = [r.string() for _ in range(r.varint())]
    state["isolation"] = r.opt(lambda: (r.string(), r.string(), r.string()))
    state["flags"] = r.byte()
    state["closureReason"] = r.opt(r.string)
    state["closedAt"] = r.opt(r.int)
    state["handedOverTo"] = r.opt(r.string)
    r.end()
    return state


def cell(value):
    r = Reader(value)
    counters = dict(zip(COUNTERS, [r.int() for _ in COUNTERS]))
    histograms = []
    for _ in range(2):
        histograms.append({r.int(): r.int() for _ in range(r.varint())})
    r.end()
    return counters, histograms


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ledger")
    parser.add_argument("--by", choices=["day", "month"], default="month")
    args = parser.parse_args()
    path = args.ledger.rstrip("/") + ".projections"
    env = lmdb.open(path, readonly=True, lock=False, max_dbs=8, subdir=True)
    with env.begin() as txn:
        meta = env.open_db(b"meta", txn=txn, create=False)
        if struct.unpack(">I", txn.get(b"format_version", db=meta))[0] != 1:
            sys.exit("unsupported read model format")
        checkpoint = txn.get(b"checkpoint", db=meta)
        position = struct.unpack(">Q", checkpoint[:8])[0]
        print(f"checkpoint {position} {bytes(checkpoint[8:40]).hex()}")
        cases = 0
        for key, value in txn.cursor(db=env.open_db(b"cases", txn=txn, create=False)):
            case_state(value)
            cases += 1
        print(f"cases {cases}")
        rows = {}
        for key, value in txn.cursor(db=env.open_db(b"cells", txn=txn, create=False)):
            key = bytes(key)
            platform = key[:-5].decode("utf-8")
            day = struct.unpack(">I", key[-4:])[0] - (1 << 31)
            date = datetime.date(1970, 1, 1) + datetime.timedelta(days=day)
            period = date.isoformat() if args.by == "day" else date.isoformat()[:7]
            counters, _ = cell(value)
            row = rows.setdefault((platform, period), dict.fromkeys(COUNTERS, 0))
            for name, count in counters.items():
                row[name] += count
        print("platform,period,patientsZero,contacts,followed,outboundCalls,sms")
        for (platform, period), row in sorted(rows.items()):
            followed = row["patientsZero"] + row["contacts"]
            print(f"{platform},{period},{row['patientsZero']},{row['contacts']},{followed},"
                  f"{row['outboundCalls']},{row['sms']}")


if __name__ == "__main__":
    main()
