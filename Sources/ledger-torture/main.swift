import ContactTracing
// ledger-torture: the load generator of the reliability tests and of scripts/soak.sh.
//
// It appends through the library the way platforms do (single events, batches, many tasks sharing
// group commits, conflicting expected versions) and prints one line per durable acknowledgment, so
// that a test can kill it at any moment and check that everything acknowledged is in the log.
//
//   ledger-torture concurrent LEDGER PROCESS TASKS EVENTS SHARED
//   ledger-torture crash LEDGER single|batch|group
//   ledger-torture fill LEDGER FILE_SIZE_LIMIT_BYTES
//   ledger-torture hold-reader LEDGER
import Foundation
import Ledger

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a line to standard output at once (no buffering: a kill must not lose acknowledgments).
func say(_ text: String) {
    var line = Array(text.utf8)
    line.append(10)
    line.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(1, buffer.baseAddress! + offset, buffer.count - offset)
            if written <= 0 { exit(3) }
            offset += written
        }
    }
}

func fail(_ text: String, code: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data("ledger-torture: \(text)\n".utf8))
    exit(code)
}

func event(stream: String, tag: String, payloadBytes: Int = 0, expected: ExpectedVersion = .any) -> NewEvent {
    var sms = Tracing_V1_SMSSent()
    sms.smsRef = tag
    if payloadBytes > 0 { sms.template = String(repeating: "x", count: payloadBytes) }
    do {
        return try EventCatalog.event(
            sms, stream: stream, platform: "cpam-34", occurredAt: Timestamp(year: 2021, month: 3, day: 1),
            expectedVersion: expected)
    } catch {
        fail("cannot encode an event: \(error)")
    }
}

func open(_ path: String, initialMapSize: Int = 1 << 20) -> EventLog {
    do {
        return try EventLog(path: path, options: .init(initialMapSize: initialMapSize))
    } catch {
        fail("cannot open \(path): \(error)")
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else { fail("usage: ledger-torture concurrent|crash|fill|hold-reader LEDGER ...") }
let path = arguments[2]

switch arguments[1] {
case "concurrent":
    // Tasks append to their own streams and, one time in three, to a shared stream with the exact
    // version they just read: concurrent writers then conflict, and each conflict must be refused.
    guard arguments.count == 7, let process = Int(arguments[3]), let tasks = Int(arguments[4]),
        let events = Int(arguments[5]), let shared = Int(arguments[6])
    else { fail("usage: ledger-torture concurrent LEDGER PROCESS TASKS EVENTS SHARED") }
    let log = open(path)
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var rng = SystemRandomNumberGenerator()
                    for i in 0..<events {
                        let tag = "p\(process)-t\(task)-e\(i)"
                        if shared > 0 && Int.random(in: 0..<3, using: &rng) == 0 {
                            let stream = "shared-\(Int.random(in: 0..<shared, using: &rng))"
                            while true {
                                let current: UInt64?
                                do {
                                    current = try log.stream(stream).last?.streamVersion
                                } catch {
                                    fail("read \(stream): \(error)")
                                }
                                let expected: ExpectedVersion = current.map { .exact($0) } ?? .noStream
                                do {
                                    let result = try await log.append([
                                        event(stream: stream, tag: tag, expected: expected)
                                    ])[0]
                                    say("ok \(tag) \(result.position) \(stream) \(result.streamVersion)")
                                    break
                                } catch LedgerError.wrongExpectedVersion(let s, let e, let actual) {
                                    let wanted: String
                                    switch e {
                                    case .exact(let v): wanted = String(v)
                                    case .noStream: wanted = "none"
                                    case .any: wanted = "any"
                                    }
                                    say("conflict \(tag) \(s) \(wanted) \(actual.map(String.init) ?? "none")")
                                } catch {
                                    fail("append \(tag): \(error)")
                                }
                            }
                        } else {
                            let stream = "own-p\(process)-t\(task)"
                            do {
                                let result = try await log.append([event(stream: stream, tag: tag)])[0]
                                say("ok \(tag) \(result.position) \(stream) \(result.streamVersion)")
                            } catch {
                                fail("append \(tag): \(error)")
                            }
                        }
                    }
                }
            }
        }
        done.signal()
    }
    done.wait()

case "crash":
    // Appends until killed, printing "ack FIRST COUNT TAG" once each append is durable.
    guard arguments.count == 4 else { fail("usage: ledger-torture crash LEDGER single|batch|group") }
    let log = open(path)
    switch arguments[3] {
    case "single", "batch":
        let size = arguments[3] == "single" ? 1 : 7
        var n = 0
        while true {
            n += 1
            let tag = "b\(n)"
            let batch = (0..<size).map { event(stream: "crash-\(n % 13)", tag: "\(tag)-\($0)") }
            do {
                let results = try log.appendBlocking(batch)
                say("ack \(results[0].position) \(size) \(tag)")
            } catch {
                fail("append: \(error)")
            }
        }
    case "group":
        Task.detached {
            await withTaskGroup(of: Void.self) { group in
                for task in 0..<16 {
                    group.addTask {
                        var n = 0
                        while true {
                            n += 1
                            let size = 1 + n % 3
                            let tag = "g\(task)x\(n)"
                            let batch = (0..<size).map { event(stream: "group-\(task)", tag: "\(tag)-\($0)") }
                            do {
                                let results = try await log.append(batch)
                                say("ack \(results[0].position) \(size) \(tag)")
                            } catch {
                                fail("append: \(error)")
                            }
                        }
                    }
                }
            }
        }
        while true { sleep(60) }
    default:
        fail("crash mode: single, batch or group")
    }

case "fill":
    // Appends 100-event batches of 1 KB events under a file-size limit until the disk "is full".
    guard arguments.count == 4, let limit = UInt64(arguments[3]) else {
        fail("usage: ledger-torture fill LEDGER FILE_SIZE_LIMIT_BYTES")
    }
    signal(SIGXFSZ, SIG_IGN)
    var rlimit = rlimit(rlim_cur: rlim_t(limit), rlim_max: rlim_t(limit))
    guard setrlimit(Int32(RLIMIT_FSIZE.rawValue), &rlimit) == 0 else { fail("setrlimit failed") }
    let log = open(path, initialMapSize: 64 << 20)
    var n = 0
    while true {
        n += 1
        let tag = "f\(n)"
        let batch = (0..<100).map { event(stream: "fill-\(n % 7)", tag: "\(tag)-\($0)", payloadBytes: 1_000) }
        do {
            let results = try log.appendBlocking(batch)
            say("ack \(results[0].position) 100 \(tag)")
        } catch {
            say("error \(error)")
            exit(74)
        }
    }

case "hold-reader":
    // Holds a read snapshot until killed (its reader slot is then stale).
    let log = open(path)
    do {
        try log.withSnapshot { _ in
            say("holding")
            while true { sleep(60) }
        }
    } catch {
        fail("snapshot: \(error)")
    }

default:
    fail("unknown mode \(arguments[1])")
}
