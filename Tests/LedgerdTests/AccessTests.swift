import Credentials
import Foundation
import Hummingbird
import Ledger
import TestSupport
import Testing

@testable import ledgerd

@Suite("ledgerd: who may do what")
struct AccessTests {
    let platform = Caller.principal(
        Principal(name: "cpam-34", role: .platform, serial: "01"), address: "test")
    let statistician = Caller.principal(
        Principal(name: "Hélène", role: .statistician, serial: "02"), address: "test")
    let administrator = Caller.principal(
        Principal(name: "admin", role: .administrator, serial: "03"), address: "test")

    func status(_ caller: Caller, _ method: HTTPRequest.Method, _ path: String) -> Int {
        do {
            try Access.check(caller, method: method, path: path)
            return 200
        } catch {
            return error.status.code
        }
    }

    @Test("the route table: open routes for all, 401 without a principal, 403 for a role that may not")
    func routeTable() {
        let anonymous = Caller.unauthenticated(reason: "none", address: "test")
        let developer = Caller.developer(address: "test")
        let rows: [(HTTPRequest.Method, String, [Int])] = [
            // anonymous, developer, platform, statistician, administrator
            (.get, "/livez", [200, 200, 200, 200, 200]),
            (.get, "/metrics", [401, 200, 403, 403, 200]),
            (.post, "/v1/events", [401, 200, 200, 403, 200]),
            (.get, "/v1/events", [401, 200, 200, 403, 200]),
            (.get, "/v1/subscribe", [401, 200, 200, 403, 200]),
            (.get, "/v1/cases/cpam-34/p0/1", [401, 200, 200, 403, 200]),
            (.post, "/v1/cases/cpam-34/p0/1/identity", [401, 200, 200, 403, 403]),
            (.get, "/v1/stats", [401, 200, 200, 200, 200]),
            (.get, "/v1/reports/closure", [401, 200, 200, 200, 200]),
            (.post, "/v1/retention", [401, 200, 403, 403, 200]),
        ]
        for (method, path, expected) in rows {
            let got = [anonymous, developer, platform, statistician, administrator].map {
                status($0, method, path)
            }
            #expect(got == expected, "\(method) \(path)")
        }
    }

    @Test("a platform's reads name its own platform only; other roles are not restricted")
    func platformFilters() throws {
        #expect(try Access.platforms([], for: platform, what: "events") == ["cpam-34"])
        #expect(try Access.platforms(["cpam-34"], for: platform, what: "events") == ["cpam-34"])
        #expect(throws: Problem.self) { try Access.platforms(["cpam-11"], for: platform, what: "events") }
        #expect(try Access.platforms(["cpam-11"], for: statistician, what: "statistics") == ["cpam-11"])
    }

    @Test("a platform's batch is refused whole when one event is another platform's or a platform's life")
    func appendOwnership() async throws {
        let (ledger, service) = try makeService()
        defer { _ = ledger }
        func event(_ platform: String, _ stream: String, _ type: String = "CallPlaced") -> NewEvent {
            NewEvent(
                id: UUID(), stream: stream, type: type, platform: platform,
                occurredAt: Timestamp(year: 2021, month: 1, day: 4), payload: [])
        }
        try await service.authorize([event("cpam-34", "cpam-34/p0/1")], by: platform)
        for (batch, field) in [
            ([event("cpam-34", "cpam-34/p0/1"), event("cpam-11", "cpam-11/p0/1")], "platform"),
            ([event("cpam-34", "cpam-11/p0/1")], "stream"),
            ([event("cpam-34", "platform/cpam-34", "PlatformClosed")], "type"),
        ] {
            await #expect {
                try await service.authorize(batch, by: platform)
            } throws: { error in
                (error as? Problem)?.status == .forbidden
                    && (error as? Problem)?.extensions.contains {
                        $0.0 == "field" && $0.1.rendered == "\"\(field)\""
                    }
                        == true
            }
        }
        try await service.authorize(
            [event("cpam-11", "platform/cpam-11", "PlatformClosed")], by: administrator)
        await #expect(throws: Problem.self) {
            try await service.authorize([event("cpam-34", "cpam-34/p0/1")], by: administrator)
        }
    }
}
