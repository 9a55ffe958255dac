import ContactTracing
import Foundation
import Ledger

/// The exported forms of statistics rows (CSV and JSON), shared by `ledgerctl stats` and `ledgerd`'s
/// `GET /v1/stats`, so that both print the same columns with the same numbers (docs/statistics.md).
extension StatisticsRow {
    /// The columns of the CSV form and the keys of the JSON form, in order.
    public static let columns = [
        "platform", "period", "periodStart", "patientsZero", "contacts", "followed", "outboundCalls",
        "outboundReached", "reachedRate", "inboundCalls", "landlineCalls", "sms", "letters", "teleservice",
        "p0ReachedWithin24hShare", "contactsNotifiedWithin24hShare", "contactsPerP0Mean",
        "contactsPerP0Median",
        "p0NoContactShare", "digitalOnlyShare", "medianDelayHours", "contactsLaterPositive",
    ]

    /// The row's values as text, one per column of ``columns``: counts as integers, shares and means
    /// with four decimals, an empty string where a share has no denominator.
    public var fields: [String] {
        func number(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "" }
        let c = cell
        return [
            platform, period, periodStart.description, String(c.patientsZero), String(c.contacts),
            String(c.followed), String(c.activity.outboundCalls), String(c.activity.outboundReached),
            number(c.reachedRate), String(c.activity.inboundCalls), String(c.activity.landlineCalls),
            String(c.activity.sms), String(c.activity.letters), String(c.activity.teleservice),
            number(c.patientsZeroReachedWithin24hShare), number(c.contactsNotifiedWithin24hShare),
            number(c.contactsPerPatientZeroMean), number(c.contactsPerPatientZeroMedian),
            number(c.patientsZeroWithoutContactShare), number(c.digitalOnlyShare),
            number(c.medianDelayHours), String(c.contactsLaterPositive),
        ]
    }

    /// The CSV form: a header line, then one line per row (RFC 4180 quoting, `\n` line ends).
    public static func csv(_ rows: [StatisticsRow]) -> String {
        var out = columns.joined(separator: ",") + "\n"
        for row in rows { out += row.fields.map(csvField).joined(separator: ",") + "\n" }
        return out
    }

    /// The JSON form of one row: one object with sorted keys; counts and shares are numbers, a share
    /// without a denominator is `null`, and `platform`, `period` and `periodStart` are strings.
    public var json: String {
        var members = [String]()
        for (key, value) in zip(Self.columns, fields).sorted(by: { $0.0 < $1.0 }) {
            let text: String
            switch key {
            case "platform", "period", "periodStart": text = EventJSON.quote(value)
            default: text = value.isEmpty ? "null" : Self.jsonNumber(value)
            }
            members.append("\(EventJSON.quote(key)):\(text)")
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// A number as `JSONSerialization` writes a `Double`: integers without a fraction.
    private static func jsonNumber(_ text: String) -> String {
        guard let value = Double(text) else { return "null" }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line end.
public func csvField(_ value: String) -> String {
    value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
        ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
}
