import Foundation
import Ledger
import Testing
import Tracing

@Suite("ledgerctl stats and report")
struct StatisticsCommandTests {
    @Test(
        "stats and report closure refuse an unknown platform with 65, naming the platforms the ledger knows")
    func unknownPlatform() throws {
        let w = Workspace()
        #expect(try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.0002"]).status == 0)
        for command in [["stats"], ["report", "closure"]] {
            let run = try ledgerctl(command + ["--ledger", w.ledger, "--platform", "NOSUCH"])
            #expect(run.status == 65, "\(command)")
            #expect(
                run.stderr.contains("no platform 'NOSUCH'") && run.stderr.contains("cpam-34"), "\(run.stderr)"
            )
            #expect(run.stdout.isEmpty)
        }
        let known = try ledgerctl(["stats", "--ledger", w.ledger, "--platform", "cpam-11", "--format", "csv"])
        #expect(known.status == 0)
    }

    @Test("an undecodable payload met while folding exits 76 (integrity), naming its position, not 74")
    func undecodablePayloadIsAnIntegrityFailure() throws {
        let w = Workspace()
        do {
            let log = try EventLog(path: w.ledger)
            _ = try log.appendBlocking([
                NewEvent(
                    id: UUID(), stream: "cpam-34/p0/1", type: "CallPlaced", platform: "cpam-34",
                    occurredAt: Timestamp(year: 2021, month: 1, day: 4), payload: [0xFF, 0xFF, 0xFF])
            ])
            log.close()
        }
        for command in [["stats"], ["replay"], ["report", "closure", "--platform", "cpam-34"]] {
            let run = try ledgerctl(command + ["--ledger", w.ledger])
            #expect(run.status == 76, "\(command): \(run.stderr)")
            #expect(run.stderr.contains("position 1"), "\(run.stderr)")
        }
    }
}
