import LMDB
import Ledger

/// What closing a platform appends.
public enum PlatformClosure {
    /// The events that close `platform` on `date`, for a caller that knows which cases are still
    /// open (the simulator does; `ledgerctl platform close` asks the projection): for each,
    /// `CaseHandedOver` (when a platform takes over) and `CaseClosed`; then `PlatformClosed` in the
    /// platform's stream.
    public static func events(
        closing platform: String, on date: CivilDate, handoverTo: String?, openCases: [String]
    ) throws -> [NewEvent] {
        var events = [NewEvent]()
        let at = date.start.adding(milliseconds: 86_400_000 - 1)
        for id in openCases.sorted() {
            if let handoverTo {
                var handed = Tracing_V1_CaseHandedOver()
                handed.toPlatform = handoverTo
                events.append(
                    try EventCatalog.event(handed, stream: id, platform: platform, occurredAt: at))
            }
            var closed = Tracing_V1_CaseClosed()
            closed.reason = handoverTo == nil ? .platformClosed : .handedOver
            events.append(
                try EventCatalog.event(closed, stream: id, platform: platform, occurredAt: at))
        }
        var closed = Tracing_V1_PlatformClosed()
        closed.closedOn = date.description
        closed.handoverTo = handoverTo ?? ""
        events.append(
            try EventCatalog.event(
                closed, stream: StreamName.platform(platform), platform: platform, occurredAt: at)
        )
        return events
    }
}
