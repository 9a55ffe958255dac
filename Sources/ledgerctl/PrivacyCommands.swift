import ArgumentParser
import ContactTracing
import Foundation
import Ledger
import Projections

/// Where the ledger secret and the key store are; both default to siblings of the ledger directory.
struct PrivacyOptions: ParsableArguments {
    @Option(help: "The ledger secret file (default: LEDGER.secret beside the ledger).")
    var secret: String?
    @Option(help: "The key store directory (default: LEDGER.keys beside the ledger).")
    var keyStore: String?

    func vault(for ledger: String, create: Bool) throws -> PrivacyVault {
        do {
            return try PrivacyVault(
                secretPath: secret ?? PrivacyVault.defaultSecretPath(forLedger: ledger),
                keyStorePath: keyStore ?? PrivacyVault.defaultKeyStorePath(forLedger: ledger), create: create)
        } catch {
            throw Failure(error)
        }
    }
}

struct Case: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "case", abstract: "Look at one case.", subcommands: [Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a case's events; with --reveal, its person's identity (audited).",
            discussion: """
                Revealing an identity first appends an IdentityConsulted event (who, when, why) to the case: \
                every consultation is traced, as the law requires. Who is asking comes from --actor, else the \
                LEDGER_ACTOR environment variable, else USER.
                """)

        @OptionGroup var options: LedgerOptions
        @OptionGroup var privacy: PrivacyOptions
        @Argument(help: "The case id (its stream).", transform: LedgerFormat.normalize) var id: String
        @Option(help: "text or json") var format: OutputFormat = .text
        @Flag(help: "Reveal the person's identity (needs --reason).") var reveal = false
        @Option(help: "Why the identity is consulted.") var reason: String?
        @Option(help: "Who consults (default: $LEDGER_ACTOR, else $USER).") var actor: String?

        func validate() throws {
            if reveal && (reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
                throw ValidationError(
                    "--reveal needs --reason TEXT: every consultation is audited with its reason")
            }
        }

        func run() throws {
            let log = try options.open(readOnly: !reveal)
            guard try log.streamVersion(id) != nil else {
                throw Failure(.badInput, "no case '\(id)' in \(options.path)")
            }
            var revealed: RevealedIdentity?
            if reveal {
                let environment = ProcessInfo.processInfo.environment
                let who = actor ?? environment["LEDGER_ACTOR"] ?? environment["USER"] ?? ""
                guard !who.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw Failure(
                        .badInput, "--actor: who is consulting must be given (or set LEDGER_ACTOR)")
                }
                let vault = try privacy.vault(for: options.path, create: false)
                revealed = try log.revealIdentity(
                    ofCase: id, vault: vault, actor: who, reason: reason ?? "")
            }
            let person = try log.person(ofCase: id)
            let events = try log.stream(id)
            let state = try TracingProjection.caseState(id, in: log)
            var out = Output()
            switch format {
            case .json:
                var object: [String: Any] = [
                    "case": id, "person": person?.person ?? NSNull(),
                    "platform": person?.platform ?? NSNull(),
                    "events": events.count,
                ]
                if let revealed { object["identity"] = identityJSON(revealed) }
                if let state {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    object["state"] = try JSONSerialization.jsonObject(with: try encoder.encode(state))
                }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                out.line(String(decoding: data, as: UTF8.self))
            case .text:
                out.line("case:     \(id)")
                out.line("person:   \(person?.person ?? "-")")
                out.line("platform: \(person?.platform ?? "-")")
                if let state {
                    out.line("role:     \(state.role?.rawValue ?? "-"), status \(state.status.rawValue)")
                    out.line("reached:  \(state.firstReachAt.map { "\($0)" } ?? "not yet")")
                    let a = state.attempts
                    out.line(
                        "attempts: \(a.outboundCalls) outbound calls, \(a.inboundCalls) inbound, \(a.sms) SMS, "
                            + "\(a.letters) letters, \(a.teleservice) teleservice")
                    if let p0 = state.patientZeroCase { out.line("P0 case:  \(p0)") }
                    if !state.contacts.isEmpty {
                        out.line("contacts: \(state.contacts.joined(separator: ", "))")
                    }
                    if let isolation = state.isolation {
                        out.line(
                            "isolation: \(isolation.start) to \(isolation.end) (rule \(isolation.ruleVersion))"
                        )
                    }
                    if let reason = state.closureReason { out.line("closed:   \(reason)") }
                    if let to = state.handedOverTo { out.line("handed over to: \(to)") }
                }
                for event in events {
                    out.line(
                        "  v\(event.streamVersion)  \(event.occurredAt)  \(event.type)  (position \(event.position))"
                    )
                }
                if let revealed {
                    switch revealed {
                    case .erased:
                        out.line("identity: erased")
                    case .identity(let identity):
                        out.line(
                            "identity: \(identity.firstName) \(identity.lastName), born \(identity.birthDate)"
                        )
                        out.line("          NIR \(identity.nir), phone \(identity.phone ?? "-")")
                        out.line("          \(identity.address ?? "-")")
                    }
                }
            }
            out.flush()
        }

        private func identityJSON(_ revealed: RevealedIdentity) -> Any {
            switch revealed {
            case .erased:
                return "erased"
            case .identity(let identity):
                let phone: Any = identity.phone ?? NSNull()
                let address: Any = identity.address ?? NSNull()
                let object: [String: Any] = [
                    "nir": identity.nir, "lastName": identity.lastName, "firstName": identity.firstName,
                    "birthDate": identity.birthDate, "phone": phone, "address": address,
                ]
                return object
            }
        }
    }
}

struct Erase: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Erase a person by destroying their key (crypto-shredding); the log is not rewritten.")

    @OptionGroup var options: LedgerOptions
    @OptionGroup var privacy: PrivacyOptions
    @Option(help: "The person's pseudonym.") var person: String

    func run() throws {
        let vault = try privacy.vault(for: options.path, create: false)
        if try vault.keys.destroy(person) {
            print("erased \(person): their identity can no longer be revealed from any copy of the log")
        } else {
            throw Failure(.badInput, "no key for person '\(person)' (unknown, or already erased)")
        }
    }
}

struct Retention: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the retention periods.", subcommands: [Apply.self])

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Destroy the keys of every person whose retention period has ended by a date.",
            discussion: """
                Defaults are the legal periods: contact-tracing records 3 months after collection, negative lab \
                results 3 months, positive lab results 6 months.
                """)

        @OptionGroup var options: LedgerOptions
        @OptionGroup var privacy: PrivacyOptions
        @Option(help: "The date to apply the periods at (YYYY-MM-DD).") var asOf: String
        @Option(help: "Months kept for contact-tracing records.") var contactTracingMonths = 3
        @Option(help: "Months kept for negative lab results.") var labNegativeMonths = 3
        @Option(help: "Months kept for positive lab results.") var labPositiveMonths = 6

        func validate() throws {
            guard CivilDate(asOf) != nil else {
                throw ValidationError("--as-of: '\(asOf)' is not a YYYY-MM-DD date")
            }
            for (name, value) in [
                ("--contact-tracing-months", contactTracingMonths),
                ("--lab-negative-months", labNegativeMonths),
                ("--lab-positive-months", labPositiveMonths),
            ] where value < 0 || value > 1200 {
                throw ValidationError("\(name) must be from 0 to 1200")
            }
        }

        func run() throws {
            let vault = try privacy.vault(for: options.path, create: false)
            let policy = RetentionPolicy(months: [
                .contactTracing: contactTracingMonths, .labNegative: labNegativeMonths,
                .labPositive: labPositiveMonths,
            ])
            let erased = try vault.keys.applyRetention(asOf: CivilDate(asOf)!, policy: policy)
            print(
                "retention applied as of \(asOf): \(erased.count) persons erased, \(try vault.keys.count()) kept"
            )
        }
    }
}
