import Foundation
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
}
