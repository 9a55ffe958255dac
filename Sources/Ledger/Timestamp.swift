import LMDB

/// A point in time: whole milliseconds since 1970-01-01T00:00:00Z, in UTC.
///
/// The log stores times as this integer. Its text form is RFC 3339 in UTC (`2020-05-12T09:30:00Z`,
/// with `.SSS` when the milliseconds are not zero); the calendar helpers are proleptic Gregorian in UTC,
/// which is what day, ISO week and month statistics are bucketed by.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since the Unix epoch.
    public var millisecondsSince1970: Int64

    /// Creates a timestamp from milliseconds since the Unix epoch.
    public init(millisecondsSince1970: Int64) {
        self.millisecondsSince1970 = millisecondsSince1970
    }

    /// The earliest time the ledger accepts: 1900-01-01T00:00:00Z.
    public static let earliest = Timestamp(millisecondsSince1970: -2_208_988_800_000)
    /// The latest time the ledger accepts: 9999-12-31T23:59:59.999Z.
    public static let latest = Timestamp(millisecondsSince1970: 253_402_300_799_999)

    /// The current time.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(millisecondsSince1970: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    /// Midnight UTC of a calendar day.
    public init(
        year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, millisecond: Int = 0
    ) {
        let days = CivilDate.daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        self.millisecondsSince1970 = seconds * 1000 + Int64(millisecond)
    }

    /// Whole days since 1970-01-01 (floor), the key of daily buckets.
    public var dayNumber: Int {
        Int(millisecondsSince1970.floorDiv(86_400_000))
    }

    /// The calendar date (UTC) of this instant.
    public var date: CivilDate { CivilDate(dayNumber: dayNumber) }

    /// Adds milliseconds.
    public func adding(milliseconds: Int64) -> Timestamp {
        Timestamp(millisecondsSince1970: millisecondsSince1970 + milliseconds)
    }

    /// Adds whole days.
    public func adding(days: Int) -> Timestamp { adding(milliseconds: Int64(days) * 86_400_000) }

    /// RFC 3339 text in UTC: `YYYY-MM-DDTHH:MM:SS[.mmm]Z`, the milliseconds only when not zero.
    public var description: String {
        let ms = Int(millisecondsSince1970.floorMod(1000))
        let secondsOfDay = Int((millisecondsSince1970.floorDiv(1000)).floorMod(86_400))
        let d = date
        guard (1000...9999).contains(d.year) else { return slowDescription }
        // Written digit by digit: exports and replicas write two of these per event.
        return String(unsafeUninitializedCapacity: 24) { out in
            var i = 0
            func two(_ value: Int) {
                out[i] = UInt8(48 + value / 10)
                out[i + 1] = UInt8(48 + value % 10)
                i += 2
            }
            func byte(_ ascii: Unicode.Scalar) {
                out[i] = UInt8(ascii: ascii)
                i += 1
            }
            two(d.year / 100)
            two(d.year % 100)
            byte("-")
            two(d.month)
            byte("-")
            two(d.day)
            byte("T")
            two(secondsOfDay / 3600)
            byte(":")
            two(secondsOfDay / 60 % 60)
            byte(":")
            two(secondsOfDay % 60)
            if ms != 0 {
                byte(".")
                out[i] = UInt8(48 + ms / 100)
                i += 1
                two(ms % 100)
            }
            byte("Z")
            return i
        }
    }

    /// ``description`` for a year outside 1000...9999.
    private var slowDescription: String {
        let ms = millisecondsSince1970.floorMod(1000)
        let secondsOfDay = Int((millisecondsSince1970.floorDiv(1000)).floorMod(86_400))
        let d = date
        var text =
            d.description + "T" + pad2(secondsOfDay / 3600) + ":" + pad2(secondsOfDay / 60 % 60) + ":"
            + pad2(secondsOfDay % 60)
        if ms != 0 {
            text += "." + String(String(1000 + ms).dropFirst())
        }
        return text + "Z"
    }

    /// Parses RFC 3339 text: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]]` followed by `Z` or `±HH:MM`.
    /// A bare date means midnight UTC. Returns `nil` for anything else or a time outside
    /// ``earliest``...``latest``.
    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        var parser = DigitParser(bytes: bytes)
        guard let year = parser.digits(4), parser.expect(UInt8(ascii: "-")),
            let month = parser.digits(2), parser.expect(UInt8(ascii: "-")),
            let day = parser.digits(2),
            (1...12).contains(month), (1...CivilDate.daysIn(year: year, month: month)).contains(day)
        else { return nil }
        var hour = 0
        var minute = 0
        var second = 0
        var millis = 0
        var offsetMinutes = 0
        if !parser.atEnd {
            guard
                parser.expect(UInt8(ascii: "T")) || parser.expect(UInt8(ascii: "t"))
                    || parser.expect(UInt8(ascii: " ")),
                let h = parser.digits(2), parser.expect(UInt8(ascii: ":")), let m = parser.digits(2),
                h < 24, m < 60
            else { return nil }
            hour = h
            minute = m
            if parser.expect(UInt8(ascii: ":")) {
                guard let s = parser.digits(2), s < 60 else { return nil }
                second = s
                if parser.expect(UInt8(ascii: ".")) {
                    var scale = 100
                    var count = 0
                    while let digit = parser.digit() {
                        millis += digit * scale
                        scale /= 10
                        count += 1
                    }
                    guard count > 0, count <= 9 else { return nil }
                }
            }
            if parser.expect(UInt8(ascii: "Z")) || parser.expect(UInt8(ascii: "z")) {
                offsetMinutes = 0
            } else {
                let sign: Int
                if parser.expect(UInt8(ascii: "+")) {
                    sign = 1
                } else if parser.expect(UInt8(ascii: "-")) {
                    sign = -1
                } else {
                    return nil
                }
                guard let oh = parser.digits(2), parser.expect(UInt8(ascii: ":")), let om = parser.digits(2),
                    oh < 24, om < 60
                else { return nil }
                offsetMinutes = sign * (oh * 60 + om)
            }
            guard parser.atEnd else { return nil }
        }
        let value = Timestamp(
            year: year, month: month, day: day, hour: hour, minute: minute, second: second,
            millisecond: millis)
        self = value.adding(milliseconds: -Int64(offsetMinutes) * 60_000)
        guard self >= .earliest, self <= .latest else { return nil }
    }

    /// Orders by instant.
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSince1970 < rhs.millisecondsSince1970
    }
}

/// A calendar date in the proleptic Gregorian calendar.
public struct CivilDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The year, for example 2022.
    public let year: Int
    /// The month, 1 to 12.
    public let month: Int
    /// The day of the month, 1 to 31.
    public let day: Int

    /// The date of a day number (days since 1970-01-01).
    public init(dayNumber: Int) {
        // Howard Hinnant's civil_from_days.
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.year = yoe + era * 400 + (m <= 2 ? 1 : 0)
        self.month = m
        self.day = d
    }

    /// Creates a date from its parts; they are not checked.
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Days since 1970-01-01.
    public var dayNumber: Int { CivilDate.daysFromCivil(year: year, month: month, day: day) }

    /// ISO weekday, 1 (Monday) to 7 (Sunday).
    public var isoWeekday: Int {
        let n = dayNumber
        // 1970-01-01 was a Thursday (4).
        return (n + 3).floorMod(7) + 1
    }

    /// The ISO 8601 week-numbering year and week (weeks start on Monday; week 1 holds the first Thursday).
    public var isoWeek: (year: Int, week: Int) {
        let thursday = CivilDate(dayNumber: dayNumber - isoWeekday + 4)
        let jan1 = CivilDate.daysFromCivil(year: thursday.year, month: 1, day: 1)
        return (thursday.year, (thursday.dayNumber - jan1) / 7 + 1)
    }

    /// The Monday that starts this date's ISO week.
    public var startOfISOWeek: CivilDate { CivilDate(dayNumber: dayNumber - isoWeekday + 1) }

    /// `YYYY-MM-DD`.
    public var description: String {
        String(year) + "-" + pad2(month) + "-" + pad2(day)
    }

    /// Parses `YYYY-MM-DD`.
    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        var parser = DigitParser(bytes: bytes)
        guard let y = parser.digits(4), parser.expect(UInt8(ascii: "-")), let m = parser.digits(2),
            parser.expect(UInt8(ascii: "-")), let d = parser.digits(2), parser.atEnd,
            (1...12).contains(m), (1...CivilDate.daysIn(year: y, month: m)).contains(d), y >= 1900
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// Midnight UTC at the start of this date.
    public var start: Timestamp { Timestamp(year: year, month: month, day: day) }

    /// Orders by date.
    public static func < (lhs: CivilDate, rhs: CivilDate) -> Bool { lhs.dayNumber < rhs.dayNumber }

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    package static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

private struct DigitParser {
    let bytes: [UInt8]
    var index = 0

    var atEnd: Bool { index == bytes.count }

    mutating func expect(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func digit() -> Int? {
        guard index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 else { return nil }
        index += 1
        return Int(bytes[index - 1] - 48)
    }

    mutating func digits(_ count: Int) -> Int? {
        var value = 0
        for _ in 0..<count {
            guard let d = digit() else { return nil }
            value = value * 10 + d
        }
        return value
    }
}

@inline(__always)
func pad2(_ value: Int) -> String { value < 10 ? "0" + String(value) : String(value) }

extension BinaryInteger {
    @inline(__always)
    func floorDiv(_ divisor: Self) -> Self {
        let q = self / divisor
        return (self % divisor != 0 && ((self < 0) != (divisor < 0))) ? q - 1 : q
    }

    @inline(__always)
    func floorMod(_ divisor: Self) -> Self { self - floorDiv(divisor) * divisor }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension Timestamp: Codable {
    /// Decodes RFC 3339 text.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Timestamp(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not an RFC 3339 time")
        }
        self = value
    }

    /// Encodes as RFC 3339 text.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
