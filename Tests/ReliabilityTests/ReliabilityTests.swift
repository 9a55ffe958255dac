import ContactTracing
import Foundation
import Ledger
import Projections
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Rounds per crash mode: a few in the suite, hundreds in `scripts/soak.sh` (LEDGER_SOAK_ROUNDS).
let soakRounds = Int(ProcessInfo.processInfo.environment["LEDGER_SOAK_ROUNDS"] ?? "") ?? 3
/// Inputs per fuzzed decoder: LEDGER_FUZZ_INPUTS, else 2 000.
let fuzzInputs = Int(ProcessInfo.processInfo.environment["LEDGER_FUZZ_INPUTS"] ?? "") ?? 2_000

/// A ledger in a temporary directory (the shared helper of TestSupport).
final class Scratch: TemporaryLedger, @unchecked Sendable {
    var ledger: String { path }
    init() { super.init(prefix: "reliability-") }
}

/// A child process whose standard output is collected as it comes.
final class Child: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var buffer = Data()

    init(_ tool: String, _ arguments: [String]) throws {
        process.executableURL = URL(
            fileURLWithPath: try #require(builtExecutable(named: tool), "\(tool) is built"))
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        out.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.buffer.append(data)
            self.lock.unlock()
        }
        try process.run()
    }

    /// Complete lines printed so far (a line cut by a kill is not complete).
    var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        let text = String(decoding: buffer, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()  // what follows the last newline
        return lines
    }

    func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        usleep(50_000)  // let the reader collect what was written before the kill
    }

    func wait() -> Int32 {
        process.waitUntilExit()
        usleep(50_000)
        return process.terminationStatus
    }
}

/// Every event of the log: position → the tag the torture tool put in `smsRef`.
func tags(in path: String) throws -> [(position: UInt64, tag: String, stream: String, version: UInt64)] {
    let log = try EventLog(path: path, options: .init(readOnly: true))
    return try log.events().map { event in
        let sms = try Tracing_V1_SMSSent(serializedBytes: event.payload)
        return (event.position, sms.smsRef, event.stream, event.streamVersion)
    }
}

@Suite("Crash safety under SIGKILL", .serialized)
struct CrashSoakTests {
    @Test(
        "every acknowledged append survives a SIGKILL; no partial batch; positions gapless; verify passes",
        arguments: ["single", "batch", "group"], 0..<soakRounds)
    func killAtRandom(mode: String, round: Int) throws {
        let scratch = Scratch()
        let child = try Child("ledger-torture", ["crash", scratch.ledger, mode])
        var rng = SplitMix64(seed: UInt64(round * 3 + mode.count))
        usleep(useconds_t(200_000 + rng.next() % 800_000))
        child.kill()
        let acks = child.lines.compactMap { line -> (first: UInt64, count: Int, tag: String)? in
            let f = line.split(separator: " ")
            guard f.count == 4, f[0] == "ack", let first = UInt64(f[1]), let count = Int(f[2]) else {
                return nil
            }
            return (first, count, String(f[3]))
        }
        let stored = try tags(in: scratch.ledger)
        #expect(
            stored.map(\.position) == Array(1...UInt64(max(stored.count, 1))).prefix(stored.count).map { $0 })
        for ack in acks {
            for k in 0..<ack.count {
                let index = Int(ack.first) - 1 + k
                #expect(
                    index < stored.count && stored[index].tag == "\(ack.tag)-\(k)",
                    "acknowledged \(ack.tag) lost")
            }
        }
        // All or nothing: every batch in the log is whole.
        var sizes = [String: Int]()
        for event in stored {
            let batch = String(event.tag[..<event.tag.lastIndex(of: "-")!])
            sizes[batch, default: 0] += 1
        }
        for (batch, count) in sizes {
            let expected: Int
            switch mode {
            case "single": expected = 1
            case "batch": expected = 7
            default: expected = 1 + (Int(batch.split(separator: "x")[1]) ?? 0) % 3
            }
            #expect(count == expected, "batch \(batch) is partly visible: \(count) of \(expected)")
        }
        #expect(try EventLog(path: scratch.ledger, options: .init(readOnly: true)).verify().isValid)
        FileHandle.standardError.write(
            Data(
                "crash soak \(mode) round \(round): \(acks.count) appends acknowledged, \(stored.count) events stored\n"
                    .utf8))
    }
}

@Suite("Resources and concurrency", .serialized)
struct ResourceTests {
    @Test(
        "8 processes x 4 tasks with conflicting expected versions: no duplicate, no gap, every conflict refused; readers meanwhile see whole states"
    )
    func processesAndTasks() throws {
        let scratch = Scratch()
        _ = try EventLog(path: scratch.ledger)
        let writers = try (0..<8).map { p in
            try Child("ledger-torture", ["concurrent", scratch.ledger, String(p), "4", "30", "3"])
        }
        // Readers run meanwhile: each must succeed (a snapshot is always a whole state).
        var readerRuns = 0
        let deadline = Date().addingTimeInterval(300)
        while writers.contains(where: { $0.process.isRunning }) {
            guard Date() < deadline else {
                writers.forEach { $0.kill() }
                Issue.record("the writers did not finish in 5 minutes")
                return
            }
            for command in [
                ["verify", "--ledger", scratch.ledger],
                ["stats", "--ledger", scratch.ledger, "--format", "csv"],
            ] {
                let reader = try Child("ledgerctl", command)
                #expect(reader.wait() == 0, "\(command[0]) failed while writers were appending")
                readerRuns += 1
            }
        }
        for writer in writers { #expect(writer.wait() == 0) }
        var conflicts = 0
        var acknowledged = [String: (position: UInt64, stream: String, version: UInt64)]()
        for line in writers.flatMap(\.lines) {
            let f = line.split(separator: " ").map(String.init)
            if f[0] == "ok", f.count == 5, let position = UInt64(f[2]), let version = UInt64(f[4]) {
                #expect(acknowledged[f[1]] == nil, "\(f[1]) acknowledged twice")
                acknowledged[f[1]] = (position, f[3], version)
            } else if f[0] == "conflict" {
                conflicts += 1
                #expect(
                    f.count == 5 && f[3] != f[4], "a conflict refused although the version was right: \(line)"
                )
            }
        }
        #expect(acknowledged.count == 8 * 4 * 30)
        let stored = try tags(in: scratch.ledger)
        #expect(stored.count == acknowledged.count, "an event was written twice or lost")
        #expect(stored.map(\.position) == Array(1...UInt64(stored.count)))
        for event in stored {
            let ack = acknowledged[event.tag]
            #expect(
                ack?.position == event.position && ack?.version == event.version
                    && ack?.stream == event.stream)
        }
        for stream in Set(stored.map(\.stream)) {
            let versions = stored.filter { $0.stream == stream }.map(\.version)
            #expect(versions == Array(0..<UInt64(versions.count)), "\(stream) versions have a gap")
        }
        #expect(try EventLog(path: scratch.ledger, options: .init(readOnly: true)).verify().isValid)
        FileHandle.standardError.write(
            Data(
                "concurrency: \(stored.count) events by 8 processes x 4 tasks, \(conflicts) conflicts refused, \(readerRuns) reader runs\n"
                    .utf8))
    }

    @Test(
        "a full disk (file-size limit) is a clear error; nothing acknowledged is lost; the ledger works once space is back"
    )
    func fullDisk() throws {
        let scratch = Scratch()
        let child = try Child("ledger-torture", ["fill", scratch.ledger, String(6 << 20)])
        let status = child.wait()
        #expect(status == 74)
        let lines = child.lines
        let error = try #require(lines.last { $0.hasPrefix("error ") })
        #expect(error.contains("the disk is full"), "\(error)")
        let acks = lines.filter { $0.hasPrefix("ack ") }
        #expect(!acks.isEmpty)
        let stored = try tags(in: scratch.ledger)
        #expect(stored.count >= acks.count * 100)
        #expect(stored.count % 100 == 0)
        let log = try EventLog(path: scratch.ledger)
        #expect(try log.verify().isValid)
        var sms = Tracing_V1_SMSSent()
        sms.smsRef = "after"
        let result = try log.appendBlocking([
            try EventCatalog.event(
                sms, stream: "s", platform: "cpam-34", occurredAt: Timestamp(year: 2021, month: 1, day: 1))
        ])
        #expect(result[0].position == UInt64(stored.count) + 1)
        FileHandle.standardError.write(Data("full disk: \(error) after \(stored.count) events\n".utf8))
    }

    @Test("the reader slot of a killed reader is recovered while other processes hold the ledger open")
    func staleReader() throws {
        let scratch = Scratch()
        let log = try EventLog(path: scratch.ledger)
        let reader = try Child("ledger-torture", ["hold-reader", scratch.ledger])
        for _ in 0..<100 where !reader.lines.contains("holding") { usleep(50_000) }
        #expect(reader.lines.contains("holding"))
        reader.kill()
        #expect(try log.clearStaleReaders() == 1)
        #expect(try log.clearStaleReaders() == 0)
        var sms = Tracing_V1_SMSSent()
        sms.smsRef = "after"
        let event = try EventCatalog.event(
            sms, stream: "s", platform: "cpam-34", occurredAt: Timestamp(year: 2021, month: 1, day: 1))
        #expect(try log.appendBlocking([event])[0].position == 1)
    }

    @Test("a map grown by another process is adopted (MDB_MAP_RESIZED) and appends go on")
    func mapGrownElsewhere() throws {
        let scratch = Scratch()
        let log = try EventLog(path: scratch.ledger, options: .init(initialMapSize: 1 << 20))
        var sms = Tracing_V1_SMSSent()
        sms.smsRef = "before"
        let early = try EventCatalog.event(
            sms, stream: "s", platform: "cpam-34", occurredAt: Timestamp(year: 2021, month: 1, day: 1))
        _ = try log.appendBlocking([early])
        let other = try Child("ledger-torture", ["crash", scratch.ledger, "batch"])
        let data = scratch.ledger + "/data.mdb"
        for _ in 0..<400 {
            let size = (try? FileManager.default.attributesOfItem(atPath: data)[.size] as? Int) ?? 0
            if size > 4 << 20 { break }
            usleep(50_000)
        }
        other.kill()
        sms.smsRef = "after"
        let late = try EventCatalog.event(
            sms, stream: "s", platform: "cpam-34", occurredAt: Timestamp(year: 2021, month: 1, day: 1))
        let result = try log.appendBlocking([late])
        #expect(result[0].position == (try log.head().position))
        #expect(result[0].position > 1_000)
        #expect(try log.verify().isValid)
    }
}

@Suite("Fuzzing the decoders")
struct FuzzTests {
    /// Mutations of a valid input: bit flips, truncation, insertion, duplication of a slice.
    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + Int(rng.next() % 4)) {
            guard !bytes.isEmpty else { break }
            let at = Int(rng.next() % UInt64(bytes.count))
            switch rng.next() % 5 {
            case 0: bytes[at] ^= UInt8(1 << (rng.next() % 8))
            case 1: bytes.removeSubrange(at...)
            case 2: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
            case 3:
                let end = min(bytes.count, at + Int(rng.next() % 16))
                bytes.insert(contentsOf: bytes[at..<end], at: at)
            default: bytes[at] = [0x22, 0x2C, 0x7B, 0x7D, 0x3A, 0x0A, 0xFF, 0x2D, 0x39][Int(rng.next() % 9)]
            }
        }
        return bytes
    }

    @Test(
        "mutated NDJSON lines, CSV files and payloads never crash the decoders; each is accepted or refused with its field"
    )
    func decoders() throws {
        var rng = SplitMix64(seed: 2026)
        let line = Array(
            #"{"id":"7d444840-9dc0-11d1-b245-5ffdce74fad2","stream":"cpam-34/p0/1","type":"CallPlaced","platform":"cpam-34","occurredAt":"2020-05-12T09:30:00Z","expectedVersion":2,"data":{"direction":"OUTBOUND","line":"MOBILE","outcome":"REACHED","durationSeconds":300}}"#
                .utf8)
        var json = (accepted: 0, refused: 0)
        for _ in 0..<fuzzInputs {
            do {
                _ = try EventJSON.decode(line: Self.mutate(line, &rng))
                json.accepted += 1
            } catch {
                json.refused += 1
                #expect(!error.field.isEmpty && !error.reason.isEmpty)
            }
        }
        let csv = Array(
            ("result_id,platform,nir,last_name,first_name,birth_date,phone,address,sample_date,result_at,test_kind,symptom_onset\n"
                + #"R1,cpam-34,2 84 12 76 451 089 93,Durand,Alice,1984-12-03,06 12 34 56 78,"3 place de la Comédie, Montpellier",2021-03-01,2021-03-02T08:00:00Z,RT-PCR,2021-02-28"#
                + "\n").utf8)
        var rows = (accepted: 0, refused: 0)
        for _ in 0..<fuzzInputs {
            let (parsed, errors) = LabResultsCSV.parse(Data(Self.mutate(csv, &rng)))
            rows.accepted += parsed.count
            rows.refused += errors.count
            for error in errors { #expect(error.line >= 1 && !error.field.isEmpty) }
        }
        var call = Tracing_V1_CallPlaced()
        call.direction = .outbound
        call.outcome = .reached
        call.agent = "agent-7"
        call.durationSeconds = 300
        let payload: [UInt8] = try call.serializedBytes()
        var payloads = (accepted: 0, refused: 0)
        for _ in 0..<fuzzInputs {
            let mutated = Self.mutate(payload, &rng)
            do {
                _ = try mutated.withUnsafeBytes { try EventCatalog.decode(type: "CallPlaced", payload: $0) }
                payloads.accepted += 1
            } catch {
                payloads.refused += 1
                #expect(String(describing: error).contains("CallPlaced"))
            }
        }
        FileHandle.standardError.write(
            Data(
                ("fuzz: \(fuzzInputs) NDJSON lines (\(json.accepted) accepted, \(json.refused) refused), "
                    + "\(fuzzInputs) CSV files (\(rows.accepted) rows accepted, \(rows.refused) refused), "
                    + "\(fuzzInputs) payloads (\(payloads.accepted) accepted, \(payloads.refused) refused), no crash\n")
                    .utf8))
    }
}

/// The stored read model under SIGKILL.
@Suite("Read model under SIGKILL", .serialized)
struct ReadModelCrashTests {
    @Test(
        "a replay killed mid-rebuild resumes from its last chunk and ends with the rows of an uninterrupted one"
    )
    func killedRebuildResumes() throws {
        let scratch = Scratch()
        let tool = try #require(builtExecutable(named: "ledgerctl"))
        let simulate = Process()
        simulate.executableURL = URL(fileURLWithPath: tool)
        simulate.arguments = ["simulate", "--ledger", scratch.ledger, "--scale", "0.01", "--no-identities"]
        simulate.standardOutput = FileHandle.nullDevice
        simulate.standardError = FileHandle.nullDevice
        try simulate.run()
        simulate.waitUntilExit()
        #expect(simulate.terminationStatus == 0)
        let log = try EventLog(path: scratch.ledger, options: .init(readOnly: true))
        let head = try log.head().position
        var killedAt = [UInt64]()
        for round in 0..<soakRounds {
            let replay = Process()
            replay.executableURL = URL(fileURLWithPath: tool)
            replay.arguments =
                ["replay", "--ledger", scratch.ledger, "--chunk-size", "1500"]
                + (round == 0 ? ["--from-scratch"] : [])
            replay.standardOutput = FileHandle.nullDevice
            replay.standardError = FileHandle.nullDevice
            try replay.run()
            // Kill it once a few chunks are committed (bounded wait: 30 s).
            let deadline = Date().addingTimeInterval(30)
            var seen: UInt64 = 0
            while Date() < deadline && replay.isRunning {
                if let model = try? ReadModel(ledger: scratch.ledger, readOnly: true) {
                    seen = (try? model.read(catchingUpWith: nil) { $0.checkpoint }) ?? 0
                    if seen >= UInt64(round + 2) * 6_000 { break }
                }
                usleep(5_000)
            }
            kill(replay.processIdentifier, SIGKILL)
            replay.waitUntilExit()
            killedAt.append(seen)
        }
        #expect(killedAt.contains { $0 > 0 && $0 < head }, "a replay was killed mid-rebuild: \(killedAt)")
        // Resume, then compare with a rebuild that was never interrupted.
        let resumed = try ReadModel(ledger: scratch.ledger)
        try resumed.catchUp(from: log, chunkSize: 1_500)
        let clean = scratch.ledger + ".clean-projections"
        defer { try? FileManager.default.removeItem(atPath: clean) }
        let uninterrupted = try ReadModel(directory: clean)
        try uninterrupted.catchUp(from: log)
        let dump = try resumed.dump()
        #expect(dump == (try uninterrupted.dump()))
        #expect(dump.count > 1_000)
    }
}
