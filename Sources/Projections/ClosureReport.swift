import ContactTracing
import Foundation
import Ledger

/// The seal of the history a report summarises, so that anyone can later check the report against
/// the ledger (`ledgerctl verify --report FILE`).
public struct ReportSeal: Codable, Equatable, Sendable {
    /// Events covered.
    public var events: UInt64
    /// First position covered.
    public var firstPosition: UInt64
    /// Last position covered.
    public var lastPosition: UInt64
    /// The hash chain value at `lastPosition`.
    public var headHash: String
}

/// The report of a platform that shuts down.
public struct ClosureReport: Codable, Equatable, Sendable {
    /// One week of the timeline.
    public struct Week: Codable, Equatable, Sendable {
        /// ISO week label.
        public var week: String
        /// Patient zéro cases opened.
        public var patientsZero: Int
        /// Contact cases opened.
        public var contacts: Int
    }

    /// One month of the channel mix.
    public struct ChannelMonth: Codable, Equatable, Sendable {
        /// `YYYY-MM`.
        public var month: String
        /// Outbound calls.
        public var outboundCalls: Int
        /// Inbound calls.
        public var inboundCalls: Int
        /// SMS sent.
        public var sms: Int
        /// Letters sent.
        public var letters: Int
        /// Teleservice submissions.
        public var teleservice: Int
    }

    /// A case still open at closure.
    public struct OpenCase: Codable, Equatable, Sendable {
        /// The case id.
        public var id: String
        /// Its role.
        public var role: CaseRole?
        /// Its status.
        public var status: CaseStatus
        /// The platform it went to.
        public var handedOverTo: String?
    }

    /// The platform.
    public var platform: String
    /// Its name.
    public var platformName: String
    /// The closing date (or the last day of activity when it is not closed yet).
    public var closedOn: String?
    /// The platform taking over.
    public var handoverTo: String?
    /// Insured followed: patients zéro plus contacts.
    public var followed: Int
    /// Patient zéro cases.
    public var patientsZero: Int
    /// Contact cases.
    public var contacts: Int
    /// Weekly patients zéro versus contacts.
    public var timeline: [Week]
    /// Monthly channel mix.
    public var channelMix: [ChannelMonth]
    /// Cases not closed, or handed over, at closure.
    public var openCases: [OpenCase]
    /// The seal.
    public var seal: ReportSeal

    /// Builds the report of `platform` from the in-memory projection.
    public init(platform: String, projection: TracingProjection) {
        self.init(
            platform: platform, facts: projection.platformFacts(platform),
            weeks: projection.statistics(platform: platform, by: .week),
            months: projection.statistics(platform: platform, by: .month),
            cases: projection.reportCases(platform: platform), checkpoint: projection.checkpoint,
            checkpointHash: projection.checkpointHash)
    }

    /// Builds the report of `platform` from a projection's queries (the stored read model reads the
    /// platform's cells, its open cases and its facts, nothing else).
    public init(platform: String, queries: some ProjectionQueries) throws {
        self.init(
            platform: platform, facts: try queries.platformFacts(platform),
            weeks: try queries.statistics(platforms: [platform], by: .week),
            months: try queries.statistics(platforms: [platform], by: .month),
            cases: try queries.reportCases(platform: platform), checkpoint: queries.checkpoint,
            checkpointHash: queries.checkpointHash)
    }

    private init(
        platform: String, facts: PlatformFacts?, weeks: [StatisticsRow], months: [StatisticsRow],
        cases: [CaseState], checkpoint: UInt64, checkpointHash: String
    ) {
        self.platform = platform
        platformName = facts?.name ?? platform
        closedOn = facts?.closedOn
        handoverTo = facts?.handoverTo
        timeline = weeks.map {
            Week(week: $0.period, patientsZero: $0.cell.patientsZero, contacts: $0.cell.contacts)
        }
        channelMix = months.map {
            ChannelMonth(
                month: $0.period, outboundCalls: $0.cell.activity.outboundCalls,
                inboundCalls: $0.cell.activity.inboundCalls, sms: $0.cell.activity.sms,
                letters: $0.cell.activity.letters, teleservice: $0.cell.activity.teleservice)
        }
        patientsZero = weeks.reduce(0) { $0 + $1.cell.patientsZero }
        contacts = weeks.reduce(0) { $0 + $1.cell.contacts }
        followed = patientsZero + contacts
        openCases = cases.map {
            OpenCase(id: $0.id, role: $0.role, status: $0.status, handedOverTo: $0.handedOverTo)
        }
        .sorted { $0.id < $1.id }
        seal = ReportSeal(
            events: checkpoint, firstPosition: checkpoint == 0 ? 0 : 1, lastPosition: checkpoint,
            headHash: checkpointHash)
    }

    /// The headline sentence.
    public func headline(language: ReportLanguage) -> String {
        let date = closedOn.flatMap { CivilDate($0) }
        switch language {
        case .fr:
            let day =
                date.map { " au \($0.day) \(Self.frenchMonths[$0.month - 1]) \($0.year)" }
                ?? ", plateforme encore ouverte (rapport provisoire)"
            return
                "\(Self.group(followed, " ")) assurés suivis dont \(Self.group(patientsZero, " ")) patients zéro "
                + "et \(Self.group(contacts, " ")) patients contact\(day)"
        case .en:
            let day =
                date.map { " as of \($0.day) \(Self.englishMonths[$0.month - 1]) \($0.year)" }
                ?? ", platform still open (provisional report)"
            return "\(Self.group(followed, ",")) insured followed, of whom \(Self.group(patientsZero, ",")) "
                + "patients zéro and \(Self.group(contacts, ",")) contacts\(day)"
        }
    }

    static let frenchMonths = [
        "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
        "novembre",
        "décembre",
    ]
    static let englishMonths = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December",
    ]

    /// Groups digits by three: `1014845` → `1 014 845`.
    static func group(_ value: Int, _ separator: String) -> String {
        let digits = Array(String(value))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += separator }
            out.append(digit)
        }
        return out
    }

    /// JSON with sorted keys (top level: `platform`, `closedOn`, `handoverTo`, `followed`,
    /// `patientsZero`, `contacts`, `seal`, ...).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    /// Markdown.
    public func markdown(language: ReportLanguage) -> String {
        let fr = language == .fr
        var out =
            "# " + (fr ? "Rapport de clôture — " : "Closure report — ") + platformName + " (\(platform))\n\n"
        out += "**" + headline(language: language) + "**\n\n"
        if let handoverTo {
            out += (fr ? "Dossiers transférés à : " : "Cases handed over to: ") + handoverTo + "\n\n"
        }
        out += "## " + (fr ? "Activité hebdomadaire" : "Weekly activity") + "\n\n"
        out +=
            fr ? "| semaine | patients zéro | patients contact |\n" : "| week | patients zéro | contacts |\n"
        out += "| --- | ---: | ---: |\n"
        for week in timeline { out += "| \(week.week) | \(week.patientsZero) | \(week.contacts) |\n" }
        out += "\n## " + (fr ? "Canaux par mois" : "Channels by month") + "\n\n"
        out +=
            fr
            ? "| mois | appels sortants | appels entrants | SMS | courriers | téléservice |\n"
            : "| month | outbound calls | inbound calls | SMS | letters | teleservice |\n"
        out += "| --- | ---: | ---: | ---: | ---: | ---: |\n"
        for m in channelMix {
            out +=
                "| \(m.month) | \(m.outboundCalls) | \(m.inboundCalls) | \(m.sms) | \(m.letters) | \(m.teleservice) |\n"
        }
        out +=
            "\n## " + (fr ? "Dossiers ouverts à la clôture" : "Cases open at closure")
            + " (\(openCases.count))\n\n"
        for c in openCases.prefix(1000) {
            out += "- \(c.id) (\(c.role?.rawValue ?? "?"), \(c.status.rawValue))"
            out += c.handedOverTo.map { " → \($0)" } ?? ""
            out += "\n"
        }
        if openCases.count > 1000 { out += "- … \(openCases.count - 1000) more in the JSON report\n" }
        out += "\n## " + (fr ? "Sceau" : "Seal") + "\n\n"
        out += "- events: \(seal.events)\n- positions: \(seal.firstPosition)–\(seal.lastPosition)\n"
        out += "- head hash: `\(seal.headHash)`\n\n"
        out +=
            fr
            ? "Vérifier : `ledgerctl verify --report FICHIER`\n"
            : "Check: `ledgerctl verify --report FILE`\n"
        out += "\n" + sealComment(language: language) + "\n"
        return out
    }

    /// A self-contained HTML page with an inline SVG chart of the weekly timeline.
    public func html(language: ReportLanguage) -> String {
        let fr = language == .fr
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        let width = 900
        let height = 260
        let maxValue = max(1, timeline.map { max($0.patientsZero, $0.contacts) }.max() ?? 1)
        let step = timeline.isEmpty ? 0 : Double(width - 60) / Double(timeline.count)
        func points(_ value: (Week) -> Int) -> String {
            timeline.enumerated().map { index, week in
                let x = 50 + Double(index) * step + step / 2
                let y = Double(height - 30) - Double(value(week)) / Double(maxValue) * Double(height - 50)
                return String(format: "%.1f,%.1f", x, y)
            }.joined(separator: " ")
        }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(height)\" role=\"img\">"
        svg +=
            "<line x1=\"50\" y1=\"\(height - 30)\" x2=\"\(width - 10)\" y2=\"\(height - 30)\" stroke=\"#444\"/>"
        svg += "<line x1=\"50\" y1=\"20\" x2=\"50\" y2=\"\(height - 30)\" stroke=\"#444\"/>"
        svg += "<text x=\"45\" y=\"25\" text-anchor=\"end\" font-size=\"11\">\(maxValue)</text>"
        svg +=
            "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" points=\"\(points { $0.patientsZero })\"/>"
        svg +=
            "<polyline fill=\"none\" stroke=\"#2471a3\" stroke-width=\"2\" points=\"\(points { $0.contacts })\"/>"
        if let first = timeline.first, let last = timeline.last {
            svg += "<text x=\"50\" y=\"\(height - 12)\" font-size=\"11\">\(first.week)</text>"
            svg +=
                "<text x=\"\(width - 10)\" y=\"\(height - 12)\" text-anchor=\"end\" font-size=\"11\">\(last.week)</text>"
        }
        svg +=
            "<text x=\"60\" y=\"15\" font-size=\"12\" fill=\"#c0392b\">\(fr ? "patients zéro" : "patients zéro")</text>"
        svg +=
            "<text x=\"180\" y=\"15\" font-size=\"12\" fill=\"#2471a3\">\(fr ? "patients contact" : "contacts")</text>"
        svg += "</svg>"
        var body = "<h1>\(escape((fr ? "Rapport de clôture — " : "Closure report — ") + platformName))</h1>"
        body += "<p class=\"headline\">\(escape(headline(language: language)))</p>"
        if let handoverTo {
            body +=
                "<p>\(fr ? "Dossiers transférés à" : "Cases handed over to") <b>\(escape(handoverTo))</b></p>"
        }
        body += "<h2>\(fr ? "Activité hebdomadaire" : "Weekly activity")</h2>" + svg
        body +=
            "<h2>\(fr ? "Canaux par mois" : "Channels by month")</h2><table><tr><th>\(fr ? "mois" : "month")</th>"
        body +=
            "<th>\(fr ? "appels sortants" : "outbound calls")</th><th>\(fr ? "appels entrants" : "inbound calls")</th>"
        body +=
            "<th>SMS</th><th>\(fr ? "courriers" : "letters")</th><th>\(fr ? "téléservice" : "teleservice")</th></tr>"
        for m in channelMix {
            body +=
                "<tr><td>\(m.month)</td><td>\(m.outboundCalls)</td><td>\(m.inboundCalls)</td><td>\(m.sms)</td>"
            body += "<td>\(m.letters)</td><td>\(m.teleservice)</td></tr>"
        }
        body +=
            "</table><h2>\(fr ? "Dossiers ouverts à la clôture" : "Cases open at closure"): \(openCases.count)</h2>"
        body += "<h2>\(fr ? "Sceau" : "Seal")</h2><p>events \(seal.events), positions \(seal.firstPosition)–"
        body += "\(seal.lastPosition), head hash <code>\(seal.headHash)</code></p>"
        return """
            <!DOCTYPE html>
            <html lang="\(fr ? "fr" : "en")"><head><meta charset="utf-8"><title>\(escape(platformName))</title>
            <style>body{font-family:sans-serif;max-width:960px;margin:2em auto}table{border-collapse:collapse}
            td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}.headline{font-size:1.3em;font-weight:bold}</style>
            </head><body>\(body)
            \(sealComment(language: language))
            </body></html>

            """
    }
}

extension ClosureReport {
    /// The marker of the machine-readable seal that Markdown and HTML reports carry in a comment.
    static let sealMarker = "tracing-ledger-seal"

    /// What a Markdown or HTML report's seal comment holds: enough to recompute the report.
    struct EmbeddedSeal: Codable, Equatable {
        var report: String
        var platform: String
        var language: String
        var events: UInt64
        var firstPosition: UInt64
        var lastPosition: UInt64
        var headHash: String
    }

    /// `<!-- tracing-ledger-seal {...} -->`: the seal with the platform and language, as JSON in which
    /// `<`, `>` and `&` are escaped so that the comment cannot end early.
    func sealComment(language: ReportLanguage) -> String {
        let embedded = EmbeddedSeal(
            report: "closure", platform: platform, language: language.rawValue, events: seal.events,
            firstPosition: seal.firstPosition, lastPosition: seal.lastPosition, headHash: seal.headHash)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: (try? encoder.encode(embedded)) ?? Data(), as: UTF8.self)
            .replacingOccurrences(of: "<", with: "\\u003c").replacingOccurrences(of: ">", with: "\\u003e")
            .replacingOccurrences(of: "&", with: "\\u0026")
        return "<!-- \(Self.sealMarker) \(json) -->"
    }

    /// Checks a closure report (JSON, Markdown or HTML, as `report closure` wrote it) against the log.
    ///
    /// The seal must hold (the log has the sealed head hash at the sealed position, and the chain up to
    /// it verifies), and the report must be the one the log gives as of that position: it is recomputed
    /// from the log and compared, so a figure, a week, an open case or the platform edited by hand is
    /// found and named (the first differing field for JSON, the first differing line for Markdown and
    /// HTML).
    /// - Parameters:
    ///   - contents: the report file's bytes.
    /// - Returns: `nil` when the report holds, else what does not.
    /// - Throws: ``ReportCheckError`` when the file is not a closure report; errors of the log.
    public static func check(
        _ contents: Data, against log: EventLog, progress: (UInt64) -> Void = { _ in }
    ) throws -> String? {
        let text = String(decoding: contents, as: UTF8.self)
        let json = text.drop(while: \.isWhitespace).first == "{"
        let platform: String
        let seal: ReportSeal
        var language = ReportLanguage.fr
        var fileObject: JSONValue?
        if json {
            // Read strictly: a key given twice (the last silently winning in most readers) is an edit.
            let strict: JSONValue
            do {
                strict = try StrictJSON.parse(contents)
            } catch  where error.duplicateKey {
                return "the report is not as 'report closure' wrote it: \(error)"
            } catch {
                throw ReportCheckError(reason: "not JSON: \(error)")
            }
            guard let object = try? JSONSerialization.jsonObject(with: contents) as? [String: Any],
                let name = object["platform"] as? String, let sealObject = object["seal"],
                let sealData = try? JSONSerialization.data(withJSONObject: sealObject),
                let decoded = try? JSONDecoder().decode(ReportSeal.self, from: sealData)
            else { throw ReportCheckError(reason: "a JSON closure report has 'platform' and 'seal'") }
            _ = object
            platform = name
            seal = decoded
            fileObject = strict
        } else {
            guard let start = text.range(of: "<!-- \(sealMarker) "),
                let end = text.range(of: " -->", range: start.upperBound..<text.endIndex),
                let embedded = try? JSONDecoder().decode(
                    EmbeddedSeal.self, from: Data(text[start.upperBound..<end.lowerBound].utf8)),
                embedded.report == "closure", let lang = ReportLanguage(rawValue: embedded.language)
            else {
                throw ReportCheckError(
                    reason: "no '\(sealMarker)' comment: not a closure report written by 'report closure'")
            }
            platform = embedded.platform
            language = lang
            seal = ReportSeal(
                events: embedded.events, firstPosition: embedded.firstPosition,
                lastPosition: embedded.lastPosition, headHash: embedded.headHash)
        }
        if let problem = try log.checkSeal(seal) { return "seal does not hold: \(problem)" }
        // The report as the log gives it at the sealed position, recomputed from the log into a
        // temporary read model: never from the stored read model, which the hash chain does not cover.
        let built = try ReadModel.withTemporary(of: log, through: seal.lastPosition, progress: progress) {
            view in
            guard view.checkpoint == seal.lastPosition else { return nil as ClosureReport? }
            return try ClosureReport(platform: platform, queries: view)
        }
        guard let expected = built else {
            return "the log ends before position \(seal.lastPosition), the position the seal names"
        }
        if let fileObject {
            let expectedObject = try StrictJSON.parse(Array(try expected.json().utf8))
            if let difference = firstDifference(fileObject, expectedObject, path: "") {
                return "the report differs from the ledger at \(difference)"
            }
            return nil
        }
        let html = text.contains("<!DOCTYPE html>") || text.contains("<html")
        let rendered = html ? expected.html(language: language) : expected.markdown(language: language)
        let fileLines = lines(of: text)
        let expectedLines = lines(of: rendered)
        for index in 0..<max(fileLines.count, expectedLines.count) {
            let found = index < fileLines.count ? fileLines[index] : nil
            let wanted = index < expectedLines.count ? expectedLines[index] : nil
            guard found.map({ Array($0.utf8) }) != wanted.map({ Array($0.utf8) }) else { continue }
            guard let found, let wanted else {
                return "the report differs from the ledger at line \(index + 1): it says "
                    + (found.map { "'\(excerpt($0, from: 0))'" } ?? "nothing (the text ends)")
                    + ", the ledger gives "
                    + (wanted.map { "'\(excerpt($0, from: 0))'" } ?? "nothing (the text ends)")
            }
            // Locate the edit inside the line (an HTML report is a few long lines).
            let f = Array(found.unicodeScalars)
            let w = Array(wanted.unicodeScalars)
            var column = 0
            while column < f.count, column < w.count, f[column] == w[column] { column += 1 }
            return "the report differs from the ledger at line \(index + 1), column \(column + 1): it says "
                + "'\(excerpt(found, from: column))', the ledger gives '\(excerpt(wanted, from: column))'"
        }
        return nil
    }

    /// The lines of a text, split on line feeds as scalars (to Swift, `\r\n` is one Character, so a
    /// report saved with CRLF line ends would otherwise be one line); a trailing `\r` is dropped.
    static func lines(of text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { scalars in
            var line = String.UnicodeScalarView(scalars)
            if line.last == "\r" { line.removeLast() }
            return String(line)
        }
    }

    /// Up to 40 scalars before `column` and 80 from it, with ellipses where the line goes on.
    static func excerpt(_ line: String, from column: Int) -> String {
        let scalars = Array(line.unicodeScalars)
        let start = max(0, column - 40)
        let end = min(scalars.count, column + 80)
        var text = String(String.UnicodeScalarView(scalars[start..<end]))
        if start > 0 { text = "…" + text }
        if end < scalars.count { text += "…" }
        return text
    }

    /// The path of the first place where two JSON values differ (`followed: 999999 where the ledger
    /// gives 202969`, `timeline[3].contacts: ...`), or `nil` when they are equal.
    ///
    /// Members may come in any order; numbers are compared as written (`2030.0` is not the `2030` the
    /// report writes) and strings byte for byte (an NFD spelling of an NFC name is an edit).
    static func firstDifference(_ found: JSONValue, _ wanted: JSONValue, path: String) -> String? {
        let label = path.isEmpty ? "the top level" : path
        switch (found, wanted) {
        case (.object(let foundMembers), .object(let wantedMembers)):
            let f = Dictionary(foundMembers.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            let w = Dictionary(wantedMembers.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            for key in Set(f.keys).union(w.keys).sorted() {
                let child = path.isEmpty ? key : path + "." + key
                guard let foundValue = f[key] else {
                    return "\(child): missing, where the ledger gives \(w[key]!.quoted)"
                }
                guard let wantedValue = w[key] else {
                    return "\(child): \(foundValue.quoted) is not part of the report"
                }
                if let difference = firstDifference(foundValue, wantedValue, path: child) {
                    return difference
                }
            }
            return nil
        case (.array(let foundItems), .array(let wantedItems)):
            for index in 0..<min(foundItems.count, wantedItems.count) {
                if let difference = firstDifference(
                    foundItems[index], wantedItems[index], path: "\(path)[\(index)]")
                {
                    return difference
                }
            }
            if foundItems.count != wantedItems.count {
                return "\(label): \(foundItems.count) entries where the ledger gives \(wantedItems.count)"
            }
            return nil
        case (.string(let a), .string(let b)) where Array(a.utf8) == Array(b.utf8):
            return nil
        case (.string, .string):
            return "\(label): \(found.quoted) where the ledger gives \(wanted.quoted)"
        default:
            if found == wanted { return nil }
            return "\(label): \(found.quoted) where the ledger gives \(wanted.quoted)"
        }
    }
}

/// A file given to ``ClosureReport/check(_:against:progress:)`` that is not a closure report.
public struct ReportCheckError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is missing.
    public var reason: String
    /// The reason.
    public var description: String { reason }
}

/// The language of a report.
public enum ReportLanguage: String, Sendable, CaseIterable {
    /// French.
    case fr
    /// English.
    case en
}

extension EventLog {
    /// Checks a report's seal against the log: the event at the seal's last position must carry the
    /// sealed head hash, and the chain up to it must hold.
    /// - Returns: `nil` when the seal holds, else what does not.
    public func checkSeal(_ seal: ReportSeal) throws(LedgerError) -> String? {
        guard seal.lastPosition > 0 else { return nil }
        guard let event = try event(at: seal.lastPosition) else {
            return "the ledger has no event at position \(seal.lastPosition)"
        }
        guard event.hash.hexString == seal.headHash else {
            return
                "the hash at position \(seal.lastPosition) is \(event.hash.hexString), the report says \(seal.headHash)"
        }
        let report = try verify()
        if let failure = report.failure, failure.position <= seal.lastPosition {
            return "the ledger does not hold at \(failure)"
        }
        return nil
    }
}
