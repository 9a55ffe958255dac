import ContactTracing
import Ledger
import Testing

@testable import Projections
@testable import Simulation

/// The fold reads payload fields straight from the bytes; SwiftProtobuf stays the reference.
@Suite("Payload fields read without decoding messages")
struct PayloadFieldsTests {
    @Test(
        "every event of a simulated history reads the same fields on the fast path as through SwiftProtobuf",
        arguments: [("herault-2022", 0.002), ("pays-de-la-loire-2020", 0.01)])
    func fastPathAgreesWithTheReference(profile: String, scale: Double) throws {
        let scratch = Scratch()
        let (log, _) = try simulate(
            SimulationProfile.named(profile)!, scale: scale, identities: true, in: scratch)
        var compared = [Int](repeating: 0, count: EventKind.allCases.count)
        try log.forEach { view in
            let kind = try #require(EventKind(view.typeBytes), "type \(view.type)")
            guard !EventKind.schemas[kind.rawValue].isEmpty else { return true }
            let (fast, reference) = try kind.fieldValues(view)
            // The simulator writes canonical payloads: the fast path must take every one of them.
            #expect(fast != nil, "position \(view.position) (\(view.type)) left the fast path")
            #expect(fast == reference, "position \(view.position) (\(view.type))")
            compared[kind.rawValue] += 1
            return fast == reference
        }
        let kinds = EventKind.allCases.filter { compared[$0.rawValue] > 0 }.map(\.name)
        // The case, call, SMS, letter and closure events the rebuild spends its time on, at least.
        for name in [
            "PositiveTestReported", "CaseOpened", "ContactDeclared", "IsolationPrescribed", "CaseClosed",
            "CallPlaced", "SMSSent", "SMSDeliveryReported", "LetterSent", "TeleserviceSubmitted",
        ] {
            #expect(kinds.contains(name), "no \(name) in the history")
        }
    }
}
