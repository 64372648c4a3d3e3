import Dispatch
import Foundation
import Synchronization
import Testing
import VaultTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The policies of the consent and restriction tests against a real server (`rightsYAML`).
enum RightsServerPolicies {
    /// `consentRequired` as `rightsYAML` takes it; uid 0 has `operatorRoles`.
    static func story(
        consentRequired: [String] = ["marketing"],
        operatorRoles: [String] = ["service", "preferences"]
    ) -> String {
        rightsYAML(consentRequired: consentRequired, identities: rightsServerIdentities(operatorRoles: operatorRoles))
    }
}

/// Consent enforced by a running `cvault serve`: a withdrawal in force for every reveal recorded after it,
/// under load from several connections, and a policy reload that adds a consent-required purpose.
@Suite(.serialized) struct ConsentServerTests {
    /// What one reveal on one connection saw: whether it was sent after the withdrawal had answered, and its
    /// items' words (`plain` or the error).
    struct Seen: Sendable {
        var sentAfterWithdrawal: Bool
        var words: [String]
    }

    /// What the revealing connections share with the test.
    final class Race: Sendable {
        /// Set once the withdrawal has answered.
        let answered = Atomic<Bool>(false)
        let stop = Atomic<Bool>(false)
        /// Connections that have had two reveals answered.
        let started = Atomic<Int>(0)
        let seen = Mutex<[Seen]>([])
        let failures = Mutex<[String]>([])
    }

    static func words(_ response: [String: Any]) -> [String]? {
        (response.resultObject?["items"] as? [[String: String]])?.map { $0["reveal"] ?? $0["error"] ?? "?" }
    }

    @Test func noRevealSucceedsOnceTheWithdrawalHasAnswered() throws {
        let server = try ServerHarness(policy: RightsServerPolicies.story())
        defer { server.destroy() }
        try server.start()
        let tokens = try server.tokenize(
            kind: "email",
            subject: "cust-race",
            values: (0..<20).map { "race\($0)@example.com" }
        )
        let grant = try server.call(
            "consent.grant",
            ["subject": "cust-race", "purposes": ["marketing"], "source": "signup-form-v3"]
        )
        #expect(grant.resultObject?["granted"] as? [String] == ["marketing"])

        let connections = 4
        let race = Race()
        let line = requestLine(method: "detokenize", params: ["tokens": tokens, "purpose": "marketing"])
        let group = DispatchGroup()
        for _ in 0..<connections {
            DispatchQueue.global().async(group: group) {
                do {
                    let connection = try RawConnection(server.socketPath)
                    var calls = 0
                    // Each connection keeps revealing until told to stop, and for at least 5 calls after the
                    // withdrawal answered.
                    var afterCalls = 0
                    while !race.stop.load(ordering: .acquiring) || afterCalls < 5 {
                        let after = race.answered.load(ordering: .acquiring)
                        let response = try connection.call(line)
                        guard let words = Self.words(response) else {
                            race.failures.withLock { $0.append("detokenize answered error \(response.errorCode ?? 0)") }
                            return
                        }
                        race.seen.withLock { $0.append(Seen(sentAfterWithdrawal: after, words: words)) }
                        calls += 1
                        if after { afterCalls += 1 }
                        if calls == 2 { _ = race.started.wrappingAdd(1, ordering: .releasing) }
                    }
                } catch {
                    race.failures.withLock { $0.append("\(error)") }
                }
            }
        }
        // The withdrawal goes out while every connection has reveals in flight.
        let ready = server.eventually(timeout: 60) { race.started.load(ordering: .acquiring) == connections }
        #expect(ready, "the connections did not start revealing")
        let withdraw = try server.call(
            "consent.withdraw",
            ["subject": "cust-race", "purposes": ["marketing"], "source": "email-footer"]
        )
        race.answered.store(true, ordering: .releasing)
        race.stop.store(true, ordering: .releasing)
        #expect(withdraw.resultObject?["withdrawn"] as? [String] == ["marketing"])
        #expect(group.wait(timeout: .now() + 120) == .success, "the revealing connections did not finish")
        #expect(race.failures.withLock { $0 }.isEmpty, "\(race.failures.withLock { $0 })")

        let all = race.seen.withLock { $0 }
        let allPlain = Array(repeating: "plain", count: tokens.count)
        let noneAllowed = Array(repeating: "no_consent", count: tokens.count)
        #expect(all.contains { !$0.sentAfterWithdrawal && $0.words == allPlain }, "reveals worked before")
        #expect(all.filter(\.sentAfterWithdrawal).count >= connections * 5)
        for reveal in all where reveal.sentAfterWithdrawal {
            #expect(reveal.words == noneAllowed, "a reveal sent after the withdrawal answered revealed")
        }
        for reveal in all {
            #expect(reveal.words == allPlain || reveal.words == noneAllowed, "one call is judged whole")
        }

        // The audit log's order: every reveal recorded after the withdrawal's record is no_consent, every one
        // before it revealed.
        server.stop()
        let export = try server.cvault(["audit", "export"])
        #expect(export.status == 0, "\(export.stderr)")
        let records = export.stdout.split(separator: "\n").compactMap {
            (try? parseJSON(Array($0.utf8))) as? [String: Any]
        }
        let withdrawal = try #require(
            records.first { $0["event"] as? String == "consent_withdraw" && $0["outcome"] as? String == "ok" }
        )
        let withdrawalSeq = try #require(withdrawal["seq"] as? Int)
        let reveals = records.filter {
            $0["event"] as? String == "detokenize" && $0["purpose"] as? String == "marketing"
        }
        #expect(reveals.count == all.count, "one record per reveal")
        var before = 0
        var after = 0
        for record in reveals {
            let decisions = (record["items"] as? [[String: Any]])?.compactMap { $0["decision"] as? String }
            let seq = record["seq"] as? Int ?? 0
            if seq > withdrawalSeq {
                after += 1
                #expect(decisions == noneAllowed, "a reveal recorded after the withdrawal revealed (seq \(seq))")
            } else {
                before += 1
                #expect(decisions == allPlain, "a reveal recorded before the withdrawal was refused (seq \(seq))")
            }
        }
        #expect(before > 0 && after >= connections * 5)
    }

    @Test func aReloadThatAddsAConsentPurposeStopsRevealsThatWorked() throws {
        let server = try ServerHarness(policy: RightsServerPolicies.story(consentRequired: []))
        defer { server.destroy() }
        try server.start()
        let tokens = try server.tokenize(kind: "email", subject: "cust-42", values: ["ada@example.com"])
        #expect(
            try server.detokenize(tokens, purpose: "marketing") == [["value": "ada@example.com", "reveal": "plain"]]
        )
        #expect(try server.detokenize(tokens, purpose: "digest") == [["value": "ada@example.com", "reveal": "plain"]])

        // SIGHUP: marketing now needs consent.
        try server.writePolicy(RightsServerPolicies.story(consentRequired: ["marketing"]))
        server.signal(SIGHUP)
        let refused = server.eventually {
            try server.detokenize(tokens, purpose: "marketing") == [["error": "no_consent"]]
        }
        #expect(refused, "after SIGHUP a marketing reveal without consent still worked")
        #expect(try server.detokenize(tokens, purpose: "digest") == [["value": "ada@example.com", "reveal": "plain"]])

        // `cvault policy reload`: digest too.
        try server.writePolicy(RightsServerPolicies.story(consentRequired: ["marketing", "digest"]))
        for reload in try server.reloadPolicy() { #expect(reload.status == 0, "\(reload.stderr)") }
        let digestRefused = server.eventually {
            try server.detokenize(tokens, purpose: "digest") == [["error": "no_consent"]]
        }
        #expect(digestRefused, "after cvault policy reload a digest reveal without consent still worked")

        // A grant lets both through again.
        let grant = try server.call(
            "consent.grant",
            ["subject": "cust-42", "purposes": ["marketing", "digest"], "source": "signup-form-v3"]
        )
        #expect(grant.resultObject?["granted"] as? [String] == ["digest", "marketing"])
        #expect(try server.detokenize(tokens, purpose: "digest") == [["value": "ada@example.com", "reveal": "plain"]])
    }
}
