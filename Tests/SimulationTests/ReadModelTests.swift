import ContactTracing
import Foundation
import Ledger
import Projections
import TestSupport
import Testing

@testable import Simulation

/// The stored read model answers exactly as the in-memory fold, whatever the chunking.
@Suite("Read model stored in LMDB")
struct ReadModelTests {
    /// Compares every query of the stored read model with the in-memory projection.
    func expectSameAnswers(
        _ model: ReadModel, _ projection: TracingProjection, catchingUpWith log: EventLog? = nil
    )
        throws
    {
        try model.read(catchingUpWith: log) { view in
            #expect(view.checkpoint == projection.checkpoint)
            #expect(view.checkpointHash == projection.checkpointHash)
            #expect(try view.caseCount() == projection.cases.count)
            #expect(try view.eventCounts() == projection.eventCounts)
            for period in StatisticsPeriod.allCases {
                #expect(
                    try view.statistics(platforms: nil, by: period) == projection.statistics(by: period),
                    "statistics by \(period)")
            }
            for (id, facts) in projection.platforms {
                #expect(try view.platformFacts(id) == facts)
                #expect(try view.reportCases(platform: id) == projection.reportCases(platform: id))
                #expect(
                    try view.statistics(platforms: [id], by: .week)
                        == projection.statistics(platform: id, by: .week))
            }
            #expect(Set(try view.knownPlatforms()).isSuperset(of: projection.platforms.keys))
            for (id, state) in projection.cases {
                let stored = try view.caseState(id)
                #expect(stored == state, "case \(id)")
                if stored != state { break }
            }
        }
    }

    @Test(
        "a rebuild in chunks of any size gives the in-memory fold's answers and the same rows",
        arguments: [("herault-2022", 0.002), ("pays-de-la-loire-2020", 0.01)])
    func chunkedRebuildMatchesTheFold(profile: String, scale: Double) throws {
        let scratch = Scratch()
        let (log, _) = try simulate(
            SimulationProfile.named(profile)!, scale: scale, identities: true, in: scratch)
        let projection = try TracingProjection.rebuild(from: log)
        var dumps = [[String]]()
        for chunk in [997, 20_000, 1_000_000] {
            let model = try ReadModel(ledger: scratch.path)
            try model.reset()
            let applied = try model.catchUp(from: log, chunkSize: chunk)
            #expect(UInt64(applied) == projection.checkpoint)
            try expectSameAnswers(model, projection)
            dumps.append(try model.dump())
        }
        #expect(dumps[0] == dumps[1] && dumps[1] == dumps[2], "the rows do not depend on the chunking")
        #expect(dumps[0].count > 1000)
    }

    @Test("catch-up after appends, and a reader's in-memory tail, answer as a fold of the whole log")
    func catchUpAndOverlay() throws {
        let scratch = Scratch()
        let (log, _) = try simulate(.herault2022, scale: 0.002, identities: false, in: scratch)
        let head = try log.head().position
        let model = try ReadModel(ledger: scratch.path)
        // Up to half the log, then the rest laid over in memory, then caught up for good.
        try model.catchUp(from: log, through: head / 2, chunkSize: 5_000)
        let whole = try TracingProjection.rebuild(from: log)
        try expectSameAnswers(model, whole, catchingUpWith: log)
        var half = TracingProjection()
        try half.catchUp(from: log, through: head / 2)
        try expectSameAnswers(model, half)
        try model.catchUp(from: log, chunkSize: 3_333)
        try expectSameAnswers(model, whole)
        let fresh = try ReadModel(ledger: scratch.path)
        try fresh.reset()
        try fresh.catchUp(from: log)
        #expect(try fresh.dump() == model.dump())
    }
}
