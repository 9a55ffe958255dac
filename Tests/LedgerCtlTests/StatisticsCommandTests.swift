import ContactTracing
import Foundation
import Ledger
import Testing

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

    @Test("several platforms give each platform's rows and their exact merged total; 'all' every platform")
    func severalPlatforms() throws {
        let w = Workspace()
        #expect(
            try ledgerctl([
                "simulate", "--ledger", w.ledger, "--profile", "pays-de-la-loire-2020", "--scale", "0.005",
                "--no-identities",
            ]).status == 0)
        func rows(_ platforms: [String]) throws -> [[String]] {
            let run = try ledgerctl(
                ["stats", "--ledger", w.ledger, "--by", "month", "--format", "csv"]
                    + platforms.flatMap { ["--platform", $0] })
            #expect(run.status == 0, "\(run.stderr)")
            return run.stdout.split(separator: "\n").dropFirst().map {
                $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            }
        }
        let two = try rows(["cpam-44", "cpam-49"])
        let total = two.filter { $0[0] == "all" }
        #expect(!total.isEmpty)
        for row in total {
            let parts = two.filter { $0[0] != "all" && $0[1] == row[1] }
            // patientsZero, contacts, followed and outbound calls add up exactly.
            for column in [3, 4, 5, 6] {
                #expect(
                    Int(row[column]) == parts.map { Int($0[column])! }.reduce(0, +),
                    "\(row[1]) column \(column)")
            }
        }
        let all = try rows(["all"])
        let platforms = Set(all.map { $0[0] })
        #expect(
            platforms.isSuperset(of: [
                "cpam-44", "cpam-49", "cpam-53", "cpam-72", "cpam-85", "drsm-pdl", "all",
            ]))
        let national = all.filter { $0[0] == "all" }.map { Int($0[5])! }.reduce(0, +)
        let each = all.filter { $0[0] != "all" }.map { Int($0[5])! }.reduce(0, +)
        #expect(national == each && national > 0)
        let unknown = try ledgerctl([
            "stats", "--ledger", w.ledger, "--platform", "cpam-44", "--platform", "NOSUCH",
        ])
        #expect(unknown.status == 65)
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
