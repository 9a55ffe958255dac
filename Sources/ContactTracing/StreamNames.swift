import Ledger

/// How the tracing domain names its streams: the one place that builds them (docs/events.md).
///
/// - `platform/ID`: a platform's life (opening, rule changes, closure);
/// - `ID/p0/N`: a patient zéro case of platform ID;
/// - `ID/contact/N`: a contact case of platform ID.
///
/// Names are returned in NFC (``LedgerFormat/normalize(_:)``), as the log stores them.
public enum StreamName {
    /// The stream of platform `id`'s own life.
    public static func platform(_ id: String) -> String { LedgerFormat.normalize("platform/\(id)") }

    /// A patient zéro case of `platform`, numbered (or named, for an imported lab result) `number`.
    public static func patientZero(platform: String, _ number: some CustomStringConvertible) -> String {
        LedgerFormat.normalize("\(platform)/p0/\(number)")
    }

    /// A contact case of `platform`, numbered `number`.
    public static func contact(platform: String, _ number: some CustomStringConvertible) -> String {
        LedgerFormat.normalize("\(platform)/contact/\(number)")
    }
}
