// Thin main for crm-servicedesk. The server/tool it starts is built by issue 7; until that lands this
// executable refuses to run rather than pretend to work.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let message = "crm-servicedesk: not built yet (issue 7 has not landed)\n"
_ = message.withCString { write(2, $0, strlen($0)) }
exit(2)
