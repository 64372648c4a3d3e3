import ArgumentParser
import Foundation
import VaultCore
import VaultJSON

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Inspect and manage the key hierarchy.",
        subcommands: [ListKeys.self, Rotate.self, Rewrap.self, Retire.self, RotateTokenKey.self, ChangePassphrase.self]
    )
}

extension KeysCommand {
    struct ListKeys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract:
                "KEK versions with their state, creation time and how many data keys each wraps; the token key; the audit public key."
        )

        @OptionGroup var location: VaultLocation
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await reporting {
                let (store, file) = try await location.openStoreWithKeyringFile()
                let stats = try await store.store.read { try $0.stats() }
                await store.close()
                if json {
                    // Members in name order, laid out as `JSONSerialization`'s `.prettyPrinted` did.
                    var out = JSONWriter(options: [.foundation, .prettyPrinted])
                    out.beginObject()
                    out.member("audit_public_key", file.auditPublicKey)
                    out.key("keks")
                    out.beginArray()
                    for kek in file.keks {
                        out.beginObject()
                        out.member("created", kek.created)
                        out.member("data_keys", stats.dataKeysByKEK[kek.version] ?? 0)
                        out.member("state", kek.state.rawValue)
                        out.member("version", kek.version)
                        out.endObject()
                    }
                    out.endArray()
                    out.key("token_keys")
                    out.beginArray()
                    for key in file.tokenKeys {
                        out.beginObject()
                        out.member("created", key.created)
                        out.member("state", key.state.rawValue)
                        out.member("version", key.version)
                        out.endObject()
                    }
                    out.endArray()
                    out.endObject()
                    print(out.text)
                    return
                }
                print("KEK  STATE         CREATED               DATA KEYS")
                for kek in file.keks {
                    let state = kek.state.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0)
                    print(
                        "v\(kek.version)".padding(toLength: 5, withPad: " ", startingAt: 0)
                            + "\(state) \(kek.created)  \(stats.dataKeysByKEK[kek.version] ?? 0)"
                    )
                }
                for key in file.tokenKeys {
                    print("token key v\(key.version) \(key.state.rawValue), created \(key.created)")
                }
                print("audit public key \(file.auditPublicKey)")
            }
        }
    }
}
