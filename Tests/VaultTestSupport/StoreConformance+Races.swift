import Dispatch
import Testing
import VaultCore

/// `readThenWrite`, rotation (a rewrap's updates racing writes and erases) and `close`.
extension StoreConformance {
    static let readThenWrite: [Check] = [
        Check("readThenWrite hands the read's answer to the write, and keeps nothing when either throws") { store in
            let subject = try await addSubject(store, "cust-1")
            let token = makeToken(subjectID: subject.id)
            for items in [1, 1_000] {
                let (found, snapshot) = try await store.readThenWrite(
                    items: items,
                    read: { try $0.subject(named: "cust-1") },
                    write: { _, found, snapshot in (found, snapshot) }
                )
                #expect(found == subject && snapshot == .current || snapshot == .changedSince)
                await #expect(throws: ThrownOnPurpose.self) {
                    try await store.readThenWrite(
                        items: items,
                        read: { _ in throw ThrownOnPurpose() },
                        write: { writer, _, _ in try writer.insertToken(token) }
                    )
                }
                await #expect(throws: ThrownOnPurpose.self) {
                    try await store.readThenWrite(
                        items: items,
                        read: { _ in () },
                        write: { writer, _, _ in
                            try writer.insertToken(token)
                            throw ThrownOnPurpose()
                        }
                    )
                }
            }
            #expect(try await store.read { try $0.stats().tokens } == 0)
        },

        Check("readThenWrite says .current only when no erase committed since its read") { store in
            var pairs: [(subject: SubjectRecord, token: TokenRecord)] = []
            for index in 0..<40 {
                let subject = try await addSubject(store, "cust-\(index)")
                let token = makeToken(subjectID: subject.id)
                try await store.write { try $0.insertToken(token) }
                pairs.append((subject, token))
            }
            let answers = try await withThrowingTaskGroup(of: (ReadSnapshot, Bool).self) { group in
                for (subject, token) in pairs {
                    let readDone = DispatchSemaphore(value: 0)
                    group.addTask {
                        try await store.readThenWrite(
                            items: 1_000,
                            read: { reader in
                                defer { readDone.signal() }
                                return try reader.tokens(lookup: token.lookup).map(\.subject.id)
                            },
                            write: { writer, found, snapshot in
                                (snapshot, try found.allSatisfy { try writer.subjectExists(id: $0) })
                            }
                        )
                    }
                    // The erase is queued as soon as the read has run: it races the write.
                    group.addTask {
                        await signalled(readDone)
                        _ = try await store.write { try $0.eraseSubject(named: subject.name) }
                        return (.changedSince, true)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.0 == .changedSince || $0.1 }, "a write told .current found its rows")
            #expect(try await store.read { try $0.stats().subjects } == 0)
        },
        Check("readThenWrite reports an erase that committed between its read and its write") { store in
            for round in 0..<2 {
                let subject = try await addSubject(store, "cust-\(round)")
                let token = makeToken(subjectID: subject.id)
                try await store.write { try $0.insertToken(token) }
                let erased = DispatchSemaphore(value: 0)
                let (snapshot, landed, exists) = try await store.readThenWrite(
                    items: 1_000,
                    read: { reader in
                        let found = try reader.tokens(lookup: token.lookup).map(\.subject.id)
                        Task {
                            _ = try? await store.write { try $0.eraseSubject(named: subject.name) }
                            erased.signal()
                        }
                        // Where the read runs apart from the write, the erase commits now. Where it runs inside
                        // the write's own job, the erase waits behind it, and this bound lets the read go on.
                        return (found, erased.wait(timeout: .now() + .seconds(1)) == .success)
                    },
                    write: { writer, read, snapshot in
                        (snapshot, read.1, try read.0.allSatisfy { try writer.subjectExists(id: $0) })
                    }
                )
                #expect(snapshot == .changedSince || exists, "round \(round): a write told .current found its rows")
                if landed {
                    #expect(snapshot == .changedSince && !exists, "round \(round): the erase landed in between")
                } else {
                    // Held up past the bound (the read ran in the write's job, or the machine is slow).
                    await signalled(erased)
                }
                #expect(try await store.read { try $0.subject(named: subject.name) } == nil)
            }
        },
    ]

    static let rotation: [Check] = [
        Check("a rewrap racing writes and erases moves every key, tears none, and brings no subject back") { store in
            // A wrapped key starts with its KEK version, so a read can tell a torn update.
            let wrapped: @Sendable (Int) -> [UInt8] = { [UInt8(truncatingIfNeeded: $0)] + randomBytes(40) }
            var names: [String] = []
            for index in 0..<60 {
                let key = wrapped(1)
                _ = try await store.write {
                    try $0.insertSubject(name: "cust-\(index)", kekVersion: 1, dekVersion: 1, wrappedKey: key)
                }
                names.append("cust-\(index)")
            }
            let erased = Set(names.enumerated().filter { $0.offset % 3 == 0 }.map(\.element))
            try await withThrowingTaskGroup(of: Void.self) { group in
                // The rewrap: reads a page, then writes the new keys in a later transaction, as `Vault.rewrap`.
                group.addTask {
                    var after: Int64 = 0
                    while true {
                        let from = after
                        let page = try await store.read { try $0.subjects(notWrappedBy: 2, after: from, limit: 7) }
                        guard let last = page.last else { break }
                        try await store.write { writer in
                            for subject in page {
                                try writer.updateWrappedKey(
                                    subjectID: subject.id,
                                    kekVersion: 2,
                                    wrappedKey: wrapped(2)
                                )
                            }
                        }
                        after = last.id
                    }
                }
                for name in erased {
                    group.addTask { _ = try await store.write { try $0.eraseSubject(named: name) } }
                }
                for index in 0..<20 {
                    group.addTask {
                        let subjects = try await store.read { reader in
                            try reader.subjects(notWrappedBy: 99, after: 0, limit: 1_000)
                        }
                        #expect(subjects.allSatisfy { $0.wrappedKey.first == UInt8($0.kekVersion) }, "read \(index)")
                    }
                }
                try await group.waitForAll()
            }
            let left = try await store.read { try $0.subjects(notWrappedBy: 99, after: 0, limit: 1_000) }
            #expect(Set(left.map(\.name)) == Set(names).subtracting(erased), "no erased subject came back")
            #expect(left.allSatisfy { $0.kekVersion == 2 && $0.wrappedKey.first == 2 })
        },

        Check("a subject written under the old KEK while a rewrap runs is found by the rewrap's next page") { store in
            for index in 0..<10 { _ = try await addSubject(store, "cust-old-\(index)") }
            let moved = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<30 {
                    group.addTask {
                        _ = try await addSubject(store, "cust-new-\(index)")
                        return 0
                    }
                }
                group.addTask {
                    // Pages in one write each: a subject committed before a page's write is in that page or a
                    // later one, never skipped.
                    var moved = 0
                    while true {
                        let count = try await store.write { writer -> Int in
                            let page = try writer.subjects(notWrappedBy: 2, after: 0, limit: 4)
                            for subject in page {
                                try writer.updateWrappedKey(subjectID: subject.id, kekVersion: 2, wrappedKey: [2])
                            }
                            return page.count
                        }
                        moved += count
                        if count == 0 { return moved }
                    }
                }
                return try await group.reduce(0, +)
            }
            let pass = try await store.write { writer -> Int in
                let page = try writer.subjects(notWrappedBy: 2, after: 0, limit: 1_000)
                for subject in page {
                    try writer.updateWrappedKey(subjectID: subject.id, kekVersion: 2, wrappedKey: [2])
                }
                return page.count
            }
            #expect(moved + pass == 40, "every subject moved exactly once")
            #expect(try await store.read { try $0.stats().dataKeysByKEK } == [2: 40])
        },
    ]

    static let lifecycle: [Check] = [
        Check("close lets a running write finish, then every call fails") { store in
            let entered = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let running = Task {
                try await store.write { writer in
                    entered.signal()
                    release.wait()
                    return try writer.insertSubject(name: "cust-1", kekVersion: 1, dekVersion: 1, wrappedKey: [1])
                }
            }
            await signalled(entered)
            let closing = Task { await store.close() }
            release.signal()
            _ = try await running.value
            await closing.value
            let calls: [@Sendable () async throws -> Void] = [
                { try await store.write { _ in () } },
                { _ = try await store.writeAndScrub { _ in () } },
                { try await store.read { _ in () } },
                { try await store.readThenWrite(items: 1, read: { _ in () }, write: { _, _, _ in () }) },
            ]
            for call in calls {
                let error = await #expect(throws: VaultError.self) { try await call() }
                #expect(error?.code == .storage)
            }
            await store.close()  // a second close is harmless
        }
    ]
}
