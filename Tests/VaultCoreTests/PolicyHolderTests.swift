import Foundation
import Logging
import Testing

@testable import VaultCore

@Suite struct PolicyHolderTests {
    let folder: URL
    let path: String
    let records = RecordingLogHandler()
    let logger: Logger

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cvault-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        path = folder.appendingPathComponent("policy.yaml").path
        let handler = records
        logger = Logger(label: "test") { _ in handler }
    }

    func write(_ text: String, mode: Int = 0o600) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: folder)
    }

    @Test func startsDenyingEverything() {
        defer { cleanUp() }
        let holder = PolicyHolder(path: path, logger: logger)
        #expect(holder.current == .denyAll)
        #expect(holder.path == path)
    }

    @Test func reloadGoodThenBrokenKeepsTheGoodOne() throws {
        defer { cleanUp() }
        let holder = PolicyHolder(path: path, logger: logger)
        try write(PolicyFixtures.example)
        let loaded = try holder.reload().get()
        #expect(loaded == (try Policy.parse(yaml: PolicyFixtures.example)))
        #expect(holder.current == loaded)
        #expect(holder.current.identity(uid: 1001)?.name == "checkout")

        try write(PolicyFixtures.example.replacingOccurrences(of: "detokenize:", with: "detokenise:"))
        guard case .failure(let error) = holder.reload() else {
            Issue.record("a broken policy was accepted")
            return
        }
        #expect(error.code == .policy)
        #expect(error.message.contains("\(path):20:5: unknown key \"detokenise\" in roles.payments"))
        #expect(error.message.contains("\(path):30:5: unknown key \"detokenise\" in roles.support"))
        #expect(holder.current == loaded)

        let last = try #require(records.records.last)
        #expect(last.level == .error)
        #expect(last.message == "policy refused; the previous policy stays in force")
        #expect(last.metadata["policy.path"] == path)
        #expect(last.metadata["error.code"] == "policy")
        #expect(records.records.first?.level == .info)
        #expect(records.records.first?.metadata["policy.identities"] == "4")

        // Fixed again: the new file takes over.
        try write("identities: []\n")
        #expect(try holder.reload().get() == .denyAll)
        #expect(holder.current == .denyAll)
    }

    @Test func missingFileIsRefused() throws {
        defer { cleanUp() }
        let initial = try Policy.parse(yaml: PolicyFixtures.example)
        let holder = PolicyHolder(path: path, initial: initial, logger: logger)
        guard case .failure(let error) = holder.reload() else {
            Issue.record("a missing policy was accepted")
            return
        }
        #expect(error.code == .policy)
        #expect(error.message.contains("cannot read policy \(path)"))
        #expect(holder.current == initial)
    }

    @Test func fileWritableByOthersIsRefused() throws {
        defer { cleanUp() }
        let holder = PolicyHolder(path: path, logger: logger)
        try write(PolicyFixtures.example, mode: 0o664)
        guard case .failure(let error) = holder.reload() else {
            Issue.record("a group-writable policy was accepted")
            return
        }
        #expect(error.code == .permissions)
        #expect(error.message == "policy \(path) is writable by group or others (mode 664)")
        #expect(holder.current == .denyAll)

        try write(PolicyFixtures.example, mode: 0o644)
        #expect((try? holder.reload().get()) != nil)
    }

    @Test func fileOwnedBySomeoneElseIsRefused() throws {
        defer { cleanUp() }
        // Tests run as root; a file owned by another uid must be refused even with a safe mode.
        try write(PolicyFixtures.example, mode: 0o644)
        guard geteuid() == 0 else { return }
        try FileManager.default.setAttributes([.ownerAccountID: 1001], ofItemAtPath: path)
        #expect {
            try Policy.load(path: path)
        } throws: { error in
            (error as? VaultError)?.code == .permissions
                && (error as? VaultError)?.message.contains("is owned by uid 1001") == true
        }
    }

    @Test func oversizedOrNonUTF8FilesAreRefused() throws {
        defer { cleanUp() }
        let holder = PolicyHolder(path: path, logger: logger)
        try write("# " + String(repeating: "x", count: Policy.maxFileBytes) + "\n")
        guard case .failure(let large) = holder.reload() else {
            Issue.record("an oversized policy was accepted")
            return
        }
        #expect(large.code == .policy && large.message.contains("is larger than the 1048576 bytes allowed"))

        try Data([0x6b, 0x69, 0x6e, 0x64, 0x73, 0x3a, 0xff, 0x0a]).write(to: URL(fileURLWithPath: path))
        guard case .failure(let binary) = holder.reload() else {
            Issue.record("a non-UTF-8 policy was accepted")
            return
        }
        #expect(binary.message == "policy \(path) is not valid UTF-8")
        #expect(holder.current == .denyAll)
    }

    @Test func checkingAFileListsItsProblemsWithItsPath() throws {
        defer { cleanUp() }
        try write("kinds:\n  cardd: opaque\n")
        #expect(
            try Policy.check(path: path).map(\.description) == [
                "\(path):2:3: unknown kind \"cardd\" (kinds: email, phone, card, ssn, name, address, date, text)"
            ]
        )
        try write(PolicyFixtures.example)
        #expect(try Policy.check(path: path).isEmpty)
        #expect(throws: VaultError.self) { try Policy.check(path: path + ".missing") }
    }

    @Test func folderIsRefused() throws {
        defer { cleanUp() }
        let holder = PolicyHolder(path: folder.path, logger: logger)
        guard case .failure(let error) = holder.reload() else {
            Issue.record("a folder was accepted")
            return
        }
        #expect(error.code == .policy)
        #expect(error.message.contains("is not a regular file"))
    }

    @Test func concurrentReadersSeeWholePolicies() async throws {
        defer { cleanUp() }
        let first = PolicyFixtures.example
        let second = "identities:\n  - {name: other, uid: 1001, roles: []}\n"
        let holder = PolicyHolder(path: path, logger: logger)
        try write(first)
        _ = holder.reload()
        let good = try Policy.parse(yaml: first, file: path)
        let other = try Policy.parse(yaml: second, file: path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for round in 0..<50 {
                    let text = round.isMultiple(of: 2) ? second : first
                    try text.write(toFile: path, atomically: true, encoding: .utf8)
                    _ = holder.reload()
                }
            }
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<500 {
                        let policy = holder.current
                        #expect(policy == good || policy == other)
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
