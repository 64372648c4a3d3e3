import Foundation
import Testing
import VaultCore
import VaultStoreRuntime
import VaultTestSupport

@testable import VaultPostgres

/// What the conformance suite cannot show through the protocol: group commit, a failed commit, the session
/// lost and found again, and several servers (several stores) on one database.
@Suite(.serialized) struct PostgresStoreTests {
    @Test func queuedWritesShareOneCommit() async throws {
        try await withStore { store, _ in
            let subject = try await addSubject(store, "cust-1")
            let gate = await WriterGate(store)
            let before = store.commitCount
            let writes = (0..<8).map { _ in
                let token = makeToken(subjectID: subject.id)
                return Task { try await store.write { try $0.insertToken(token) } }
            }
            try await gate.release(after: writes.count, of: store)
            for write in writes { try await write.value }
            // The gate's own write, then the eight queued jobs together.
            #expect(store.commitCount - before == 2)
            #expect(try await store.read { try $0.stats().tokens } == 8)
        }
    }

    /// A job's inserts are answered only at its end (pipeline mode). A refused one fails that job alone, with
    /// PostgreSQL's error or the store's own (a format-preserving row under a tombstone, whose count is checked
    /// when the answers are read), undoes the rest of that job, and leaves the other jobs of the group whole.
    @Test func anInsertAnsweredAtTheJobsEndFailsThatJobAlone() async throws {
        try await withStore { store, _ in
            let subject = try await addSubject(store, "cust-1")
            let gone = try await addSubject(store, "cust-gone")
            let erasedCard = makeToken(subjectID: gone.id, kind: .card, mode: .formatPreserving)
            try await store.write { try $0.insertToken(erasedCard) }
            _ = try await store.write { try $0.eraseSubject(named: gone.name) }
            try await store.write {
                try $0.appendAudit(AuditRow(seq: 1, prev: [], hash: randomBytes(32), body: "first"))
            }
            let first = makeToken(subjectID: subject.id)
            let beforeForkedRecord = makeToken(subjectID: subject.id)
            let beforeReissue = makeToken(subjectID: subject.id)
            let last = makeToken(subjectID: subject.id)
            let gate = await WriterGate(store)
            let before = store.commitCount
            let kept = Task { try await store.write { try $0.insertToken(first) } }
            let forked = Task {
                try await store.write { writer in
                    try writer.insertToken(beforeForkedRecord)
                    // seq 1 exists: the primary key refuses it, when the job's answers are read.
                    try writer.appendAudit(AuditRow(seq: 1, prev: [], hash: randomBytes(32), body: "fork"))
                }
            }
            let reissued = Task {
                try await store.write { writer in
                    try writer.insertToken(beforeReissue)
                    try writer.insertToken(
                        makeToken(
                            subjectID: subject.id,
                            lookup: erasedCard.lookup,
                            kind: .card,
                            mode: .formatPreserving
                        )
                    )
                }
            }
            let beforeOwnError = makeToken(subjectID: subject.id)
            let thrown = Task {
                try await store.write { writer in
                    try writer.insertToken(beforeOwnError)
                    try writer.appendAudit(AuditRow(seq: 1, prev: [], hash: randomBytes(32), body: "fork"))
                    throw ThrownOnPurpose()  // before the job's end: its refused append is never its error
                }
            }
            let alsoKept = Task { try await store.write { try $0.insertToken(last) } }
            try await gate.release(after: 5, of: store)
            try await kept.value
            try await alsoKept.value
            let forkError = await #expect(throws: VaultError.self) { try await forked.value }
            #expect(forkError?.code == .storage)
            #expect(forkError?.message.contains("appending an audit record failed") == true)
            let reissueError = await #expect(throws: VaultError.self) { try await reissued.value }
            #expect(reissueError?.code == .internal)
            #expect(reissueError?.message.contains("about to be issued again") == true)
            await #expect(throws: ThrownOnPurpose.self) { try await thrown.value }
            #expect(store.commitCount - before == 2)  // the gate's write, then the five jobs as one group
            let found = try await store.read { reader in
                try [first, beforeForkedRecord, beforeReissue, beforeOwnError, last].map {
                    try !reader.tokens(lookup: $0.lookup).isEmpty
                }
            }
            #expect(found == [true, false, false, false, true])
            #expect(try await store.read { try $0.auditRows(from: 1, limit: 10).map(\.body) } == ["first"])
        }
    }

    /// Queries sent together (`queryEach`, as a detokenize's look-ups are): answered in order across several
    /// batches; one that fails fails the call once every answer was read, and the session goes on in step.
    @Test func queriesSentTogetherAnswerInOrderAndAFailureLeavesTheSessionInStep() async throws {
        try await PostgresTestDatabase.with { database in
            let db = try PostgresConnection(url: try PostgresURL(database.uri))
            defer { db.close() }
            let count = PostgresConnection.maxQueriesInFlight * 2 + 5
            let numbers = try db.queryEach(
                "SELECT $1::bigint * 2",
                (0..<count).map { [.int(Int64($0))] },
                what: "doubling"
            ) {
                try $0.int64(0)
            }
            #expect(numbers == (0..<count).map { [Int64($0) * 2] })
            let divisors: [Int64] = [1, 2, 0, 4, 5]
            let error = #expect(throws: VaultError.self) {
                try db.queryEach("SELECT 100 / $1::bigint", divisors.map { [.int($0)] }, what: "dividing") {
                    try $0.int64(0)
                }
            }
            #expect(error?.code == .storage)
            #expect(error?.message.contains("dividing failed: division by zero") == true)
            #expect(db.isConnected)
            #expect(try db.query("SELECT 7::bigint", what: "after") { try $0.int64(0) } == [7])
        }
    }

    /// The session is lost while a job's inserts wait for their answers: the job fails as unavailable, and the
    /// next write runs on a new session (out of pipeline mode) and succeeds.
    @Test func aSessionLostBeforeTheJobsAnswersFailsItAsUnavailable() async throws {
        try await withStore { store, database in
            let subject = try await addSubject(store, "cust-1")
            let lost = makeToken(subjectID: subject.id)
            let error = await #expect(throws: VaultError.self) {
                try await store.write { writer in
                    try writer.insertToken(lost)
                    #expect(try terminateOtherSessions(database) >= 1)
                }
            }
            #expect(error?.code == .storeUnavailable)
            let next = makeToken(subjectID: subject.id)
            try await store.write { try $0.insertToken(next) }
            let found = try await store.read { reader in
                try [lost, next].map { try !reader.tokens(lookup: $0.lookup).isEmpty }
            }
            #expect(found == [false, true])
        }
    }

    /// A deferred constraint that refuses one audit record makes COMMIT itself fail: every caller of the
    /// group learns it, and nothing of the group is kept.
    @Test func aFailedCommitFailsEveryCallerOfItsGroup() async throws {
        try await withStore { store, database in
            try database.run(
                """
                CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.body = 'refused at commit' THEN RAISE EXCEPTION 'refused at commit'; END IF;
                    RETURN NULL;
                END $$;
                CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON audit DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();
                """
            )
            let gate = await WriterGate(store)
            let first = Task { try await store.write { try $0.insertSubjectWithoutKey(name: "cust-1") } }
            let refused = Task {
                try await store.write { writer in
                    try writer.appendAudit(AuditRow(seq: 1, prev: [], hash: randomBytes(32), body: "refused at commit"))
                }
            }
            let third = Task { try await store.write { try $0.insertSubjectWithoutKey(name: "cust-3") } }
            try await gate.release(after: 3, of: store)
            for outcome in [
                await first.result.map { _ in () }, await refused.result, await third.result.map { _ in () },
            ] {
                #expect(throws: VaultError.self) { try outcome.get() }
            }
            #expect(
                try await store.read { try $0.stats() }
                    == StoreStats(subjects: 0, tokens: 0, auditRecords: 0, dataKeysByKEK: [:])
            )
            // The writer goes on with the next group.
            _ = try await store.write { try $0.insertSubjectWithoutKey(name: "cust-4") }
        }
    }

    /// Every backend of the store is terminated between two writes (as when the database restarts): the
    /// store reconnects at the next group and read, and nothing acknowledged is lost.
    @Test func theStoreReconnectsAfterItsSessionsWereTerminated() async throws {
        try await withStore { store, database in
            var acknowledged: [String] = []
            for round in 0..<3 {
                let name = "cust-before-\(round)"
                _ = try await store.write { try $0.insertSubjectWithoutKey(name: name) }
                _ = try await store.read { try $0.stats() }
                acknowledged.append(name)
                #expect(try terminateOtherSessions(database) >= 1)
                // The next write may fail cleanly or reconnect and succeed; the one after certainly succeeds.
                let next = "cust-after-\(round)"
                do {
                    _ = try await store.write { try $0.insertSubjectWithoutKey(name: next) }
                    acknowledged.append(next)
                } catch let error as VaultError {
                    #expect(error.code == .storeUnavailable)
                }
                let certain = "cust-certain-\(round)"
                _ = try await store.write { try $0.insertSubjectWithoutKey(name: certain) }
                acknowledged.append(certain)
            }
            #expect(try terminateOtherSessions(database) >= 1)
            let names = acknowledged
            let found = try await store.read { reader in try names.map { try reader.subject(named: $0) != nil } }
            #expect(found == names.map { _ in true })
        }
    }

    /// The session is lost while a group is open: the group fails with `storeUnavailable` (never a success
    /// without its commit), and the next write, on a new session, succeeds.
    @Test func aSessionLostInsideAGroupFailsItAsUnavailable() async throws {
        try await withStore { store, database in
            let inside = DispatchSemaphore(value: 0)
            let proceed = DispatchSemaphore(value: 0)
            let held = Task {
                try await store.write { writer in
                    _ = try writer.insertSubjectWithoutKey(name: "cust-lost")
                    inside.signal()
                    proceed.wait()
                }
            }
            await signalled(inside)
            #expect(try terminateOtherSessions(database) >= 1)
            proceed.signal()
            let error = await #expect(throws: VaultError.self) { try await held.value }
            #expect(error?.code == .storeUnavailable)
            _ = try await store.write { try $0.insertSubjectWithoutKey(name: "cust-next") }
            let (lost, next) = try await store.read { reader in
                (try reader.subject(named: "cust-lost"), try reader.subject(named: "cust-next"))
            }
            #expect(lost == nil)
            #expect(next != nil)
        }
    }

    /// Through the protocol, as the vault calls it: a small read runs inside the write job, on the writer's
    /// thread, and a large one while the writer is busy on a reader first.
    @Test func aSmallReadThenWriteRunsInTheWriteJob() async throws {
        try await withStore { store, _ in
            let vaultStore: any VaultStore = store
            let (readOn, snapshot) = try await vaultStore.readThenWrite(
                items: PostgresStore.smallRead,
                read: { _ in currentThreadName() },
                write: { _, readOn, snapshot in (readOn, snapshot) }
            )
            #expect(readOn == "cvault-writer")
            #expect(snapshot == .current)
        }
    }

    /// A snapshot older than the erase, held by another server's read, keeps the scrub from finishing
    /// (VACUUM could not remove the rows): `scrubbed: false`. Once it ends, the next scrub finishes.
    @Test func aScrubWaitsForOlderSnapshotsAndSaysWhenItCouldNot() async throws {
        try await withTwoStores { first, second in
            _ = try await addSubject(first, "cust-1")
            _ = try await addSubject(first, "cust-2")
            let reading = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let held = Task {
                try await second.read { reader in
                    _ = try reader.subject(named: "cust-1")  // takes the snapshot
                    reading.signal()
                    release.wait()
                }
            }
            await signalled(reading)
            let (erased, scrubbed) = try await first.writeAndScrub { try $0.eraseSubject(named: "cust-1") }
            #expect(erased == 0 && !scrubbed)
            release.signal()
            try await held.value
            let (_, later) = try await first.writeAndScrub { try $0.eraseSubject(named: "cust-2") }
            #expect(later)
        }
    }

    @Test func anUnreachableDatabaseIsUnavailableAndNamesNoPassword() throws {
        let url = try PostgresURL(
            "postgresql://alice:pw-Zq81x@/vault?host=/nonexistent-cvault-socket&password=pw-Yk22r"
        )
        let error = #expect(throws: VaultError.self) { try PostgresStore.open(url) }
        #expect(error?.code == .storeUnavailable)
        for text in [error?.message, error?.hint, error.map { "\($0)" }, url.description, "\(url)"] {
            #expect(text?.contains("pw-Zq81x") == false)
            #expect(text?.contains("pw-Yk22r") == false)
        }
    }

    @Test func aURLShowsEverythingButItsPassword() throws {
        let cases: [(given: String, shown: String)] = [
            (
                "postgresql://alice:s%40cret@db.example:5433/vault?sslmode=verify-full",
                "postgresql://alice@db.example:5433/vault?sslmode=verify-full"
            ),
            (
                "postgres://db.example/vault?password=s3cret&sslmode=require",
                "postgres://db.example/vault?sslmode=require"
            ),
            ("postgresql:///vault?host=/run/pg&pass%77ord=s3cret", "postgresql:///vault?host=/run/pg"),
            ("postgresql://bob@/vault", "postgresql://bob@/vault"),
        ]
        for (given, shown) in cases {
            let url = try PostgresURL(given)
            #expect(url.redacted == shown)
            #expect(url.description == shown)
        }
        for refused in ["mysql://a:pw-Q1@h/db", "host=db password=pw-Q1", "postgresql://a:pw-Q1@h/db?no_such_option=1"]
        {
            let error = #expect(throws: VaultError.self) { try PostgresURL(refused) }
            #expect(error?.code == .invalidRequest)
            #expect(error.map { "\($0)".contains("pw-Q1") } == false)
        }
    }

    /// Two stores on one database are two servers: the writers' lock and the row lock of the claim make
    /// `max_reveals` exact across them.
    @Test func concurrentClaimsFromTwoStoresRevealExactlyMaxReveals() async throws {
        try await withTwoStores { first, second in
            let subject = try await addSubject(first, "cust-1")
            let id = try await first.write { try $0.nextTokenID() }
            let token = makeToken(
                subjectID: subject.id,
                id: id,
                addressing: .id,
                limits: TokenLimits(maxReveals: 5)
            )
            try await first.write { try $0.insertToken(token) }
            let claimed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<40 {
                    let store = index % 2 == 0 ? first : second
                    group.addTask { try await store.write { try $0.claimReveal(tokenID: id) } }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(claimed == 5)
            #expect(try await second.read { try $0.token(id: id)?.token.reveals } == 5)
        }
    }

    /// Appends from two stores at once form one chain: every record's `prev` is the record before's hash, and
    /// no `seq` is missing or repeated.
    @Test func concurrentAppendsFromTwoStoresFormOneGapFreeChain() async throws {
        try await withTwoStores { first, second in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<120 {
                    let store = index % 2 == 0 ? first : second
                    group.addTask {
                        try await store.write { writer in
                            let head = try writer.auditHead()
                            try writer.appendAudit(
                                AuditRow(
                                    seq: (head?.seq ?? 0) + 1,
                                    prev: head?.hash ?? [],
                                    hash: randomBytes(32),
                                    body: "{\"n\":\(index)}"
                                )
                            )
                        }
                    }
                }
                try await group.waitForAll()
            }
            let rows = try await second.read { try $0.auditRows(from: 0, limit: 1_000) }
            #expect(rows.map(\.seq) == Array(1...120))
            #expect(zip(rows, rows.dropFirst()).allSatisfy { $1.prev == $0.hash })
            #expect(Set(rows.map(\.body)).count == 120)
        }
    }

    /// The same deterministic lookup for the same subject from two stores at once: the unique index lets
    /// exactly one in.
    @Test func aLookupIsInsertedOnceEvenFromTwoStoresAtOnce() async throws {
        try await withTwoStores { first, second in
            let subject = try await addSubject(first, "cust-1")
            let lookup = randomBytes(16)
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<10 {
                    let store = index % 2 == 0 ? first : second
                    group.addTask {
                        (try? await store.write { writer in
                            try writer.insertToken(
                                makeToken(
                                    subjectID: subject.id,
                                    id: try writer.nextTokenID(),
                                    lookup: lookup,
                                    mode: .deterministic
                                )
                            )
                        }) != nil
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(outcomes == 1)
            #expect(try await second.read { try $0.tokens(lookup: lookup).count } == 1)
        }
    }

    @Test func theKeyringIsReplacedOnlyFromTheGenerationItWasRead() async throws {
        try await withStore { store, _ in
            #expect(try await store.storedKeyring() == nil)
            #expect(try await store.keyringGeneration() == nil)
            try await store.storeKeyring(bytes: [1, 2, 3], generation: 1, replacing: nil)
            await #expect(throws: VaultError.self) {
                try await store.storeKeyring(bytes: [9], generation: 2, replacing: nil)
            }
            try await store.storeKeyring(bytes: [4, 5], generation: 2, replacing: 1)
            let stale = await #expect(throws: VaultError.self) {
                try await store.storeKeyring(bytes: [6], generation: 3, replacing: 1)
            }
            #expect(stale?.code == .keyring)
            let stored = try await store.storedKeyring()
            #expect(stored?.bytes == [4, 5] && stored?.generation == 2)
            #expect(try await store.write { try PostgresStore.keyringGeneration(in: $0) } == 2)
        }
    }

    /// A write group reads the keyring's generation once (no other server can change it while the group holds
    /// the writers' lock), and a keyring stored by a job of the same group is what its later jobs read.
    @Test func aGroupReadsTheKeyringGenerationAgainAfterItsOwnChange() async throws {
        try await withStore { store, _ in
            let gate = await WriterGate(store)
            func queued(_ count: Int) async throws {
                while store.queuedWrites < count { try await Task.sleep(for: .milliseconds(2)) }
            }
            let before = Task { try await store.write { try PostgresStore.keyringGeneration(in: $0) } }
            try await queued(1)
            let change = Task { try await store.storeKeyring(bytes: [1, 2, 3], generation: 1, replacing: nil) }
            try await queued(2)
            let after = Task { try await store.write { try PostgresStore.keyringGeneration(in: $0) } }
            let commits = store.commitCount
            try await gate.release(after: 3, of: store)
            #expect(try await before.value == nil)
            try await change.value
            #expect(try await after.value == 1)
            #expect(store.commitCount - commits == 2)  // the gate's write, then the three jobs as one group
        }
    }

    @Test func createRefusesADatabaseThatHoldsAVaultAndOpenOneThatHoldsNone() async throws {
        try await PostgresTestDatabase.with { database in
            let url = try PostgresURL(database.uri)
            let missing = #expect(throws: VaultError.self) { try PostgresStore.open(url) }
            #expect(missing?.code == .notInitialized)
            let store = try PostgresStore.create(url)
            await store.close()
            let again = #expect(throws: VaultError.self) { try PostgresStore.create(url) }
            #expect(again?.code == .alreadyInitialized)
            try database.run("UPDATE cvault_schema SET version = 99")
            let newer = #expect(throws: VaultError.self) { try PostgresStore.open(url) }
            #expect(newer?.code == .storage)
        }
    }

    /// Ends every session of the test database but psql's own (the store's writer, readers and maintenance
    /// connection); returns how many.
    private func terminateOtherSessions(_ database: PostgresTestDatabase) throws -> Int {
        let ended = try database.run(
            """
            SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()) AS ended
            """
        )
        return Int(ended) ?? 0
    }
}
