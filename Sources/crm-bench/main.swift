// Thin main for crm-bench. The server/tool it starts is built by issue 11; until that lands this
// executable refuses to run rather than pretend to work.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let message = "crm-bench: not built yet (issue 11 has not landed)\n"
_ = message.withCString { write(2, $0, strlen($0)) }
exit(2)
