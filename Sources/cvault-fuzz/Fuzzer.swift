import CLibFuzzer
import Foundation
import VaultFuzz

// `cvault-fuzz`: libFuzzer driving one harness of `VaultFuzz`, named by CVAULT_FUZZ_TARGET (`Tools/fuzz --list`).
// Built only by `Tools/fuzz` (the target exists when CVAULT_FUZZ is set, see Package.swift), with
// `-sanitize=fuzzer,address`: libFuzzer's `main` parses its usual arguments and calls the two functions below.

/// The harness named by CVAULT_FUZZ_TARGET; the process stops at once if it names none.
let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["CVAULT_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let known = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("cvault-fuzz: set CVAULT_FUZZ_TARGET to one of: \(known)\n".utf8))
        exit(2)
    }
    return target
}()

/// Sets the harness up (keyring, vault) before the first input, so that input is not charged for it.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutableRawPointer) -> CInt {
    target.runBlocking([])
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    target.runBlocking(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// The program's `main`. SwiftPM names every executable's entry point `<module>_main` and makes `main` an alias
/// of it at link time, which would shadow libFuzzer's own `main`; this one does what libFuzzer's does.
@_cdecl("cvault_fuzz_main")
public func cvaultFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput)
}
