import ContactTracing
import Foundation
import Hummingbird
import Ledger
import NIOCore
import Projections
import ServiceLifecycle

/// The dashboard at `/` for statisticians and administrators (docs/security.md): a platform's
/// headline figures, patients zéro versus contacts per week as an SVG chart drawn here, the monthly
/// indicators of docs/statistics.md, a link to the closure report, and a live count of the events
/// fed by `/v1/live`. One self-contained page: no script or style is fetched from elsewhere.
enum Dashboard {
    /// The monthly columns shown, with their headers (docs/statistics.md names them).
    static let columns: [(key: String, header: String)] = [
        ("patientsZero", "Patients zéro"), ("contacts", "Contacts"), ("followed", "Suivis"),
        ("reachedRate", "Appels sortants aboutis"), ("p0ReachedWithin24hShare", "P0 joints en 24 h"),
        ("contactsNotifiedWithin24hShare", "Contacts prévenus en 24 h"),
        ("contactsPerP0Mean", "Contacts par P0"), ("medianDelayHours", "Délai médian (h)"),
    ]

    /// The page of `platform` (one of `platforms`, those the caller may see).
    static func page(
        platforms: [String], platform: String, report: ClosureReport, months: [StatisticsRow], head: UInt64
    ) -> String {
        let index = Dictionary(uniqueKeysWithValues: StatisticsRow.columns.enumerated().map { ($1, $0) })
        var rows = ""
        for row in months {
            let fields = row.fields
            rows += "<tr><th scope=\"row\">\(escape(row.period))</th>"
            for column in columns {
                let value = index[column.key].map { fields[$0] } ?? ""
                rows += "<td data-field=\"\(column.key)\">\(escape(value))</td>"
            }
            rows += "</tr>\n"
        }
        let choices = platforms.map { id in
            "<option value=\"\(escape(id))\"\(id == platform ? " selected" : "")>\(escape(id))</option>"
        }.joined()
        let status =
            report.closedOn.map {
                "fermée le \(escape($0))" + (report.handoverTo.map { ", suite à \(escape($0))" } ?? "")
            }
            ?? "ouverte"
        let reportLink = "/v1/reports/closure?platform=\(Routes.escape(platform))&amp;format=html"
        return """
            <!DOCTYPE html>
            <html lang="fr">
            <head>
            <meta charset="utf-8">
            <title>Tableau de bord — \(escape(report.platformName))</title>
            <style>
            body { font-family: sans-serif; margin: 1.5em; color: #222; }
            table { border-collapse: collapse; margin-top: 1em; }
            th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
            th { background: #f3f3f3; }
            .headline span { display: inline-block; margin-right: 2em; font-size: 1.2em; }
            .legend .p0 { color: #1f5fa8; } .legend .contacts { color: #d9822b; }
            </style>
            </head>
            <body>
            <h1>\(escape(report.platformName)) <small>(\(escape(platform)), \(status))</small></h1>
            <form method="get" action="/"><label>Plateforme
            <select name="platform" onchange="this.form.submit()">\(choices)</select></label></form>
            <p class="headline" id="headline">
            <span>Assurés suivis : <b data-field="followed">\(report.followed)</b></span>
            <span>Patients zéro : <b data-field="patientsZero">\(report.patientsZero)</b></span>
            <span>Contacts : <b data-field="contacts">\(report.contacts)</b></span>
            </p>
            <p>Événements dans le journal : <b id="live-head">\(head)</b> <small id="live-state">(en direct)</small></p>
            <h2>Patients zéro et contacts par semaine</h2>
            <p class="legend"><span class="p0">■ patients zéro</span> <span class="contacts">■ contacts</span></p>
            \(chart(report.timeline))
            <h2>Indicateurs par mois</h2>
            <table id="months">
            <thead><tr><th>Mois</th>\(columns.map { "<th>\(escape($0.header))</th>" }.joined())</tr></thead>
            <tbody>
            \(rows)</tbody>
            </table>
            <p><a href="\(reportLink)">Rapport de clôture</a> · <a href="/v1/stats?platform=\(Routes.escape(platform))&amp;by=month&amp;format=csv">CSV</a></p>
            <script>
            (function () {
              var head = document.getElementById("live-head");
              var state = document.getElementById("live-state");
              var source = new EventSource("/v1/live");
              source.addEventListener("head", function (event) {
                head.textContent = JSON.parse(event.data).head;
                state.textContent = "(en direct)";
              });
              source.onerror = function () { state.textContent = "(reconnexion…)"; };
            })();
            </script>
            </body>
            </html>

            """
    }

    /// Patients zéro and contacts per week as grouped bars, in SVG.
    static func chart(_ weeks: [ClosureReport.Week]) -> String {
        let width = 960.0
        let height = 260.0
        let top = 10.0
        let bottom = 30.0
        let left = 50.0
        guard !weeks.isEmpty else { return "<p>Aucune semaine.</p>" }
        let peak = Double(max(1, weeks.map { max($0.patientsZero, $0.contacts) }.max() ?? 1))
        let slot = (width - left - 40) / Double(weeks.count)
        let bar = max(0.5, slot * 0.4)
        func y(_ value: Int) -> Double { top + (height - top - bottom) * (1 - Double(value) / peak) }
        var svg = """
            <svg id="weekly" xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="Patients zéro et contacts par semaine">
            <line x1="\(left)" y1="\(height - bottom)" x2="\(width)" y2="\(height - bottom)" stroke="#999"/>
            <text x="\(left - 6)" y="\(top + 10)" text-anchor="end" font-size="11">\(Int(peak))</text>
            <text x="\(left - 6)" y="\(height - bottom)" text-anchor="end" font-size="11">0</text>

            """
        for (index, week) in weeks.enumerated() {
            let x = left + Double(index) * slot
            svg += String(
                format:
                    "<rect class=\"p0\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#1f5fa8\">"
                    + "<title>%@ : %d patients zéro</title></rect>",
                x, y(week.patientsZero), bar, height - bottom - y(week.patientsZero), escape(week.week),
                week.patientsZero)
            svg += String(
                format:
                    "<rect class=\"contacts\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#d9822b\">"
                    + "<title>%@ : %d contacts</title></rect>\n",
                x + bar, y(week.contacts), bar, height - bottom - y(week.contacts), escape(week.week),
                week.contacts)
            if index % max(1, weeks.count / 8) == 0 {
                svg +=
                    "<text x=\"\(String(format: "%.1f", x))\" y=\"\(Int(height - 10))\" font-size=\"11\">"
                    + "\(escape(week.week))</text>\n"
            }
        }
        return svg + "</svg>"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// `GET /v1/live`: the head position as Server-Sent Events (`event: head`), at most four a
    /// second, for the dashboard's live count: no event content, so statisticians may follow it.
    static func live(
        _ service: LedgerService, channel: any Channel, stillAuthorized: @escaping @Sendable () -> Bool
    ) -> ResponseBody {
        ResponseBody { writer in
            let heads = service.heads
            var sent: UInt64?
            var quietSince = ContinuousClock.now
            try await withGracefulShutdownHandler {
                try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
                while !Task.isCancelled, channel.isActive, !(await heads.shuttingDown), stillAuthorized() {
                    let head = await heads.position
                    if head != sent {
                        try await writer.write(
                            ByteBuffer(string: "event: head\ndata: {\"head\":\(head)}\n\n"))
                        sent = head
                        quietSince = .now
                        try await Task.sleep(for: .milliseconds(250))
                    } else if ContinuousClock.now - quietSince >= service.settings.heartbeat {
                        try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                        quietSince = .now
                    }
                    await heads.wait(beyond: head, timeout: .seconds(1))
                }
            } onGracefulShutdown: {
                Task { await heads.shutDown() }
            }
            try await writer.finish(nil)
        }
    }
}
