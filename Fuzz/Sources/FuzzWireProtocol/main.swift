// libFuzzer entry point. Built and run by scripts/fuzz; see docs/PROTOCOL.md, "Fuzzing".

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWireProtocol(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    WireFuzzHarness.run(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}
