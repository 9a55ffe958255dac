import ContactTracing
import Testing

@testable import Projections

/// One source of truth for the event types: the fold's fast lookup (EventKind) must know exactly the
/// catalog's types (EventCatalog), so that a type added to one and not the other fails here.
@Suite("catalog agreement")
struct CatalogAgreementTests {
    @Test("EventKind names exactly the catalog's event types, each once")
    func kindsMatchCatalog() {
        #expect(Set(EventKind.names) == Set(EventCatalog.messageTypes.keys))
        #expect(Set(EventKind.names).count == EventKind.names.count)
        for kind in EventKind.allCases {
            let recognised = Array(kind.name.utf8).withUnsafeBytes { EventKind($0) }
            #expect(recognised == kind, "\(kind.name) is recognised from its bytes")
        }
    }
}
