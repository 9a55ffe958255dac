import Foundation
import TestSupport
import Testing

/// Lines collected from concurrent lanes.
final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var collected = [String]()
    func append(_ line: String) { lock.withLock { collected.append(line) } }
    var lines: [String] { lock.withLock { collected } }
}

/// The exit codes `ledgerctl --help` lists.
let documentedExitCodes: Set<Int32> = [0, 64, 65, 74, 75, 76]

/// The defects of issue 13, reproduced through the command line as the outsider found them.
@Suite("trust, end to end", .serialized)
struct TrustEndToEndTests {
    var tool: String { builtExecutable(named: "ledgerctl") ?? "ledgerctl" }

    @Test("a name in NFC in one file and in NFD in another is one stream; verify holds; export round-trips")
    func unicodeAcrossFiles() throws {
        let w = Workspace()
        let nfc = "cpam-34/p0/H\u{E9}l\u{E8}ne"
        let nfd = "cpam-34/p0/He\u{301}le\u{300}ne"
        #expect(
            try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line(stream: nfc) + "\n").status == 0)
        let second = try ledgerctl(
            ["append", "--ledger", w.ledger, "-"],
            stdin: line(stream: nfd, extra: #","expectedVersion":0"#) + "\n")
        #expect(second.status == 0, "\(second.stderr)")
        let verify = try ledgerctl(["verify", "--ledger", w.ledger])
        #expect(verify.status == 0, "\(verify.stderr)")
        for name in [nfc, nfd] {
            let read = try ledgerctl(["read", "--ledger", w.ledger, "--stream", name])
            #expect(read.stdout.split(separator: "\n").count == 2)
            #expect(try ledgerctl(["case", "show", "--ledger", w.ledger, name]).status == 0)
        }
        let info = try ledgerctl(["info", "--ledger", w.ledger, "--format", "json"])
        #expect(info.stdout.contains(#""streams":1"#))
        let export = try ledgerctl(["export", "--ledger", w.ledger])
        let copy = Workspace()
        #expect(try ledgerctl(["append", "--ledger", copy.ledger, "-"], stdin: export.stdout).status == 0)
        #expect(try copy.headHash() == w.headHash())
    }

    @Test("30 backups taken while simulate writes and grows the map all succeed and each verifies")
    func backupsUnderLoad() throws {
        let w = Workspace()
        let simulate = Process()
        simulate.executableURL = URL(fileURLWithPath: tool)
        simulate.arguments = ["simulate", "--ledger", w.ledger, "--scale", "0.1", "--batch-size", "2000"]
        // A 1 MiB first map grows eight times during the run, each time under the backups' feet.
        simulate.environment = ProcessInfo.processInfo.environment.merging([
            "LEDGER_INITIAL_MAP_SIZE": "1048576"
        ]) { $1 }
        simulate.standardOutput = FileHandle.nullDevice
        simulate.standardError = FileHandle.nullDevice
        try simulate.run()
        defer { if simulate.isRunning { kill(simulate.processIdentifier, SIGKILL) } }
        while !FileManager.default.fileExists(atPath: w.ledger + "/data.mdb") { usleep(20_000) }
        var targets = [String]()
        var heads = Set<String>()
        while targets.count < 30 && simulate.isRunning {
            let target = w.directory + "/backup-\(targets.count)"
            let backup = try ledgerctl(["backup", "--ledger", w.ledger, "--to", target])
            #expect(backup.status == 0, "backup \(targets.count): \(backup.stderr)")
            heads.insert(String(backup.stdout.split(separator: " ").last ?? ""))
            targets.append(target)
        }
        #expect(targets.count == 30, "30 backups were taken while simulate ran (\(targets.count) were)")
        simulate.waitUntilExit()
        #expect(simulate.terminationStatus == 0)
        #expect(heads.count > 10, "the backups saw the log grow")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: w.directory).filter {
                $0.contains(".partial-")
            }.isEmpty)
        // Each backup verifies, two at a time (two cores).
        let results = ResultsBox()
        let taken = targets
        DispatchQueue.concurrentPerform(iterations: 2) { lane in
            for target in taken.enumerated().filter({ $0.offset % 2 == lane }).map(\.element) {
                let verify = try? ledgerctl(["verify", "--ledger", target])
                results.append("\(target): \(verify?.status ?? -1) \(verify?.stderr ?? "")")
                try? FileManager.default.removeItem(atPath: target)
            }
        }
        #expect(results.lines.count == 30)
        for line in results.lines { #expect(line.contains(": 0 "), "\(line)") }
    }

    @Test(
        "on a full file system init, info, verify, backup and replay exit 74 saying the disk is full, never SIGBUS"
    )
    func fullDisk() throws {
        let w = Workspace()
        #expect(try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.001"]).status == 0)
        let fs = w.directory + "/fs"
        // A private mount namespace (unshare -rm, no privilege needed) with a 512 KiB tmpfs, filled up.
        let script = """
            set -u
            L='\(tool)'; FS='\(fs)'; OUT='\(w.directory)'
            mkdir -p "$FS" && mount -t tmpfs -o size=512k tmpfs "$FS" || exit 99
            "$L" init --ledger "$FS/small.ledger" >/dev/null 2>&1 || exit 98
            rm "$FS/small.ledger/lock.mdb"
            dd if=/dev/zero of="$FS/fill" bs=4k >/dev/null 2>&1
            run() { name=$1; shift; "$L" "$@" >/dev/null 2>"$OUT/$name.err"; echo "$name $?"; }
            run init init --ledger "$FS/new.ledger"
            run info info --ledger "$FS/small.ledger"
            run verify verify --ledger "$FS/small.ledger"
            run backup backup --ledger '\(w.ledger)' --to "$FS/backup"
            run replay replay --ledger "$FS/small.ledger"
            echo "left: $(ls "$FS" | tr '\\n' ' ')"
            """
        let run = try runProgram("/usr/bin/unshare", ["-rm", "/bin/bash", "-c", script])
        try #require(
            run.status != 99 && run.status != 98, "unshare -rm and a tmpfs are needed: \(run.stderr)")
        for command in ["init", "info", "verify", "backup", "replay"] {
            #expect(run.stdout.contains("\(command) 74"), "\(command): \(run.stdout)")
            let message =
                (try? String(contentsOfFile: w.directory + "/\(command).err", encoding: .utf8)) ?? ""
            #expect(
                message.contains("No space left on device") && message.contains("disk is full"), "\(message)")
        }
        // Nothing is left behind: no new ledger, no backup, no partial directory.
        #expect(run.stdout.contains("left: fill small.ledger \n"), "\(run.stdout)")
    }

    @Test(
        "a closure report edited by hand fails verify --report with 76 naming the field or line; JSON, md, html"
    )
    func editedReports() throws {
        let w = Workspace()
        #expect(try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.0005"]).status == 0)
        var files = [String: String]()
        for (format, lang) in [("json", "fr"), ("md", "fr"), ("html", "en")] {
            let file = w.directory + "/report.\(format)"
            let run = try ledgerctl([
                "report", "closure", "--ledger", w.ledger, "--platform", "cpam-34", "--format", format,
                "--lang",
                lang, "--output", file,
            ])
            #expect(run.status == 0, "\(run.stderr)")
            let verify = try ledgerctl(["verify", "--ledger", w.ledger, "--report", file])
            #expect(verify.status == 0, "\(format): \(verify.stderr)")
            files[format] = try String(contentsOfFile: file, encoding: .utf8)
        }
        func check(_ format: String, _ edit: (String) -> String, _ expected: String) throws {
            let file = w.directory + "/edited.\(format)"
            let edited = edit(files[format]!)
            #expect(edited != files[format]!, "the edit changed something")
            try edited.write(toFile: file, atomically: true, encoding: .utf8)
            let run = try ledgerctl(["verify", "--ledger", w.ledger, "--report", file])
            #expect(run.status == 76, "\(format) \(expected): \(run.stdout)")
            #expect(run.stderr.contains(expected), "\(run.stderr)")
        }
        let json = files["json"]!
        let followed = try #require(json.firstMatch(of: /"followed" : (\d+)/)?.output.1)
        try check(
            "json",
            { $0.replacingOccurrences(of: "\"followed\" : \(followed)", with: "\"followed\" : 999999") },
            "followed: 999999 where the ledger gives \(followed)")
        try check(
            "json", { $0.replacingOccurrences(of: "\"platformName\" : \"", with: "\"platformName\" : \"X") },
            "platformName")
        try check(
            "json",
            { s in
                var t = s
                let start = t.range(of: "\"timeline\"")!.upperBound
                let r = t[start...].firstMatch(of: /"contacts" : \d+/)!.range
                t.replaceSubrange(r, with: "\"contacts\" : 4242")
                return t
            }, "timeline[0].contacts")
        try check(
            "json",
            {
                $0.replacingOccurrences(
                    of: "\"handedOverTo\" : \"cpam-11\"", with: "\"handedOverTo\" : \"cpam-99\"")
            },
            "openCases[0].handedOverTo")
        try check(
            "md", { $0.replacingOccurrences(of: "patients zéro et", with: "patients zéro (et)") }, "line 3")
        try check(
            "html", { $0.replacingOccurrences(of: "<td>", with: "<td>1", options: [], range: nil) }, "line")
        // A report that is not one: exit 65, not 1.
        try "hello".write(toFile: w.directory + "/junk.md", atomically: true, encoding: .utf8)
        #expect(
            try ledgerctl(["verify", "--ledger", w.ledger, "--report", w.directory + "/junk.md"]).status == 65
        )
    }

    @Test(
        "a ledger restored to an older head fails verify --checkpoints and replay with 76; --from-scratch rebuilds"
    )
    func cutHistoryIsNoticed() throws {
        let w = Workspace()
        #expect(try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.0005"]).status == 0)
        let old = w.directory + "/old.ledger"
        #expect(try ledgerctl(["backup", "--ledger", w.ledger, "--to", old]).status == 0)
        _ = try ledgerctl(["append", "--ledger", w.ledger, "-"], stdin: line() + "\n" + line() + "\n")
        let replay = try ledgerctl(["replay", "--ledger", w.ledger])
        #expect(replay.status == 0)
        let checkpoint = try ledgerctl(["checkpoint", "--ledger", w.ledger])
        #expect(checkpoint.status == 0)
        #expect(checkpoint.stdout.hasPrefix("tracing-ledger checkpoint v1\nledger "))
        let signedPosition = try #require(checkpoint.stdout.firstMatch(of: /position (\d+)/)?.output.1)
        let checkpoints = w.ledger + ".checkpoints"
        #expect(try ledgerctl(["verify", "--ledger", w.ledger, "--checkpoints", checkpoints]).status == 0)
        // Someone puts the older copy in place of the ledger: it verifies on its own.
        try FileManager.default.removeItem(atPath: w.ledger)
        try FileManager.default.moveItem(atPath: old, toPath: w.ledger)
        #expect(try ledgerctl(["verify", "--ledger", w.ledger]).status == 0)
        let cut = try ledgerctl(["verify", "--ledger", w.ledger, "--checkpoints", checkpoints])
        #expect(cut.status == 76)
        #expect(cut.stderr.contains("no longer holds position \(signedPosition)"), "\(cut.stderr)")
        for command in [["replay"], ["stats"], ["report", "closure", "--platform", "cpam-34"]] {
            let run = try ledgerctl(command + ["--ledger", w.ledger])
            #expect(run.status == 76, "\(command): \(run.stderr)")
            #expect(
                run.stderr.contains("up to position \(signedPosition)") && run.stderr.contains("now ends at"))
        }
        #expect(try ledgerctl(["replay", "--ledger", w.ledger, "--from-scratch"]).status == 0)
        #expect(try ledgerctl(["stats", "--ledger", w.ledger]).status == 0)
        // A tampered statement is refused too.
        let text = try String(contentsOfFile: checkpoints, encoding: .utf8)
        try text.replacingOccurrences(of: "position ", with: "position 1").write(
            toFile: w.directory + "/forged", atomically: true, encoding: .utf8)
        let forged = try ledgerctl(["verify", "--ledger", w.ledger, "--checkpoints", w.directory + "/forged"])
        #expect(forged.status == 76)
        #expect(forged.stderr.contains("signature does not hold"))
    }

    @Test("a user with read access only reads, verifies, counts and reports; never exit 1 or Foundation text")
    func readOnlyUser() throws {
        let w = Workspace()
        #expect(try ledgerctl(["simulate", "--ledger", w.ledger, "--scale", "0.0005"]).status == 0)
        let caseID = try #require(
            try ledgerctl(["read", "--ledger", w.ledger, "--type", "CaseOpened", "--limit", "1"]).stdout
                .firstMatch(of: /"stream":"([^"]+)"/)?.output.1)
        // The group setup of docs/cli.md ('Read-only access'), with nogroup as the statisticians' group.
        let setup = """
            chmod 755 '\(w.directory)'
            chgrp -R nogroup '\(w.ledger)' && chmod 750 '\(w.ledger)' && chmod 640 '\(w.ledger)/data.mdb' \
              && chmod 660 '\(w.ledger)/lock.mdb'
            """
        #expect(try runProgram("/bin/sh", ["-c", setup]).status == 0)
        let commands: [[String]] = [
            ["info"], ["read", "--limit", "3"], ["export"], ["verify"], ["stats", "--by", "month"],
            ["report", "closure", "--platform", "cpam-34", "--format", "json"],
            ["case", "show", String(caseID)],
        ]
        for command in commands {
            let run = try asNobody(command + ["--ledger", w.ledger])
            #expect(run.status == 0, "\(command): \(run.status) \(run.stderr)")
            #expect(
                !run.stderr.contains("NSCocoaErrorDomain") && !run.stderr.contains("Code="), "\(run.stderr)")
        }
        // The projection cache belongs to the writer: the fold runs without saving it, and says so.
        let stats = try asNobody(["stats", "--ledger", w.ledger])
        #expect(stats.stderr.contains("not saved"), "\(stats.stderr)")
        // Writing is refused with a listed code.
        let append = try asNobody(["init", "--ledger", w.ledger, "--platform", "x"])
        #expect(documentedExitCodes.contains(append.status) && append.status != 0, "\(append.stderr)")

        // A read-only copy (a backup, no lock file, a directory the user cannot write) is read without a lock.
        let copy = w.directory + "/copy.ledger"
        #expect(try ledgerctl(["backup", "--ledger", w.ledger, "--to", copy]).status == 0)
        #expect(
            try runProgram("/bin/sh", ["-c", "chmod 755 '\(copy)' && chmod 644 '\(copy)/data.mdb'"]).status
                == 0)
        let verifyCopy = try asNobody(["verify", "--ledger", copy])
        #expect(verifyCopy.status == 0, "\(verifyCopy.stderr)")
        #expect(verifyCopy.stderr.contains("without LMDB's lock file"))

        // While a process has the copy open, a lock-free read is refused, naming what to do.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: tool)
        holder.arguments = ["read", "--ledger", copy, "--follow", "--from", "999999999"]
        holder.standardOutput = FileHandle.nullDevice
        try holder.run()
        // SIGKILL: processes started from the test runner inherit a mask that blocks SIGTERM.
        defer {
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
        }
        while !FileManager.default.fileExists(atPath: copy + "/lock.mdb") { usleep(20_000) }
        usleep(200_000)
        #expect(try runProgram("/bin/chmod", ["644", copy + "/lock.mdb"]).status == 0)
        let refused = try asNobody(["info", "--ledger", copy])
        #expect(refused.status == 74, "\(refused.stderr)")
        #expect(refused.stderr.contains("has the ledger open") && refused.stderr.contains("Read-only access"))
    }

    @Test("every exit code a command uses is listed by --help")
    func exitCodesAreListed() throws {
        let help = try ledgerctl(["--help"])
        for code in documentedExitCodes where code != 0 {
            #expect(help.stdout.contains("  \(code)  "), "exit code \(code) is listed")
        }
    }
}
