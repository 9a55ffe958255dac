import ArgumentParser
import ContactTracing
import Foundation
import Ledger
import Projections
import Simulation

/// The options shared by `simulate` and `demo`.
struct SimulationOptions: ParsableArguments {
    @Option(help: "The profile: \(SimulationProfile.all.map(\.name).joined(separator: ", ")).")
    var profile: String = "herault-2022"
    @Option(
        help:
            "Scale: 1 is the real size, 0.1 a tenth (counts rounded to the nearest whole); default 1 for simulate, \(Demo.defaultScale) for demo."
    )
    var scale: Double?
    @Option(help: "Seed: the same profile, scale and seed give the same ledger (same head hash).")
    var seed: UInt64 = 1
    @Flag(help: "Write no identities (faster; pseudonyms only).") var noIdentities = false
    @Option(help: "Events per appended batch.") var batchSize: Int = 20_000

    func validate() throws {
        guard SimulationProfile.named(profile) != nil else {
            throw ValidationError(
                "--profile: unknown profile '\(profile)' (known: \(SimulationProfile.all.map(\.name).joined(separator: ", ")))"
            )
        }
        if let scale, !(scale > 0 && scale <= 10) {
            throw ValidationError("--scale: \(scale) is not a scale between 0 (excluded) and 10")
        }
        guard batchSize > 0 else { throw ValidationError("--batch-size: must be positive") }
    }

    /// Writes the history into the (empty) ledger; prints what it did.
    func run(into options: LedgerOptions, label: String, defaultScale: Double = 1) throws -> (
        EventLog, Simulator.Summary
    ) {
        let scale = self.scale ?? defaultScale
        let profile = SimulationProfile.named(profile)!
        let log = try options.open()
        let head = try log.head()
        guard head.position == 0 else {
            throw Failure(
                .conflict,
                "\(options.path) already holds \(head.position) events: a simulated history goes into a new ledger"
            )
        }
        let vault: PrivacyVault? =
            noIdentities
            ? nil
            : try PrivacyVault(ledger: options.path, create: true, syntheticSeed: seed)
        let simulator = Simulator(profile: profile, scale: scale, seed: seed)
        let cases = simulator.totals.reduce(0) { $0 + $1.followed }
        var progress = Progress(label: label, total: UInt64(cases))
        let started = Date()
        let appender = BulkAppender(log: log)
        let summary = try simulator.generate(
            batchSize: batchSize, vault: vault, progress: { progress.update(UInt64($0)) }
        ) { batch in
            try appender.submit(batch)
        }
        _ = try appender.finish()
        progress.finish()
        let seconds = Date().timeIntervalSince(started)
        let final = try log.head()
        print("\(profile.name) (scale \(scale), seed \(seed)): \(profile.summary)")
        print(
            "appended \(summary.events) events in \(String(format: "%.1f", seconds)) s "
                + "(\(Int(Double(summary.events) / max(seconds, 0.001))) events/s); head hash \(final.hashHex)"
        )
        for totals in summary.totals where totals.followed > 0 {
            let handed =
                summary.handedOver[totals.platform].map { ", \($0) open cases handed over at closure" } ?? ""
            print(
                "  \(totals.platform): \(totals.followed) insured followed, \(totals.patientsZero) patients zéro, "
                    + "\(totals.contacts) contacts\(handed)")
        }
        return (log, summary)
    }
}

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a deterministic, realistic tracing history into a new ledger.",
        discussion: """
            Profiles: \(SimulationProfile.all.map { "\($0.name): \($0.summary)" }.joined(separator: "; ")). \
            Totals are exact at any scale (rounded to the nearest whole); docs/simulation.md describes the \
            model and its sources. Identities are generated and sealed; their keys derive from the seed, so \
            a simulated ledger must never hold real people.
            """)

    @OptionGroup var options: LedgerOptions
    @OptionGroup var simulation: SimulationOptions

    func run() throws {
        _ = try simulation.run(into: options, label: "simulate")
    }
}
