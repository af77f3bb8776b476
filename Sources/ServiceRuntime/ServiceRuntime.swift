// The shared server runtime (RPC server and client, SQLite store, configuration, lifecycle)
// is built by issue 3. Until then this module only re-exports the protocol it will build on.
@_exported public import WireProtocol
