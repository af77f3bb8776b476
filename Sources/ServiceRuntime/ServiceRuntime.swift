// The shared server runtime (RPC server and client, SQLite store, configuration, lifecycle). It
// re-exports the protocol it is built on, so that a server sees the message types through it.
@_exported public import WireProtocol
