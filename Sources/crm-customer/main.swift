// Thin main for crm-customer. The server/tool it starts is built by issue 4; until that lands this
// executable refuses to run rather than pretend to work.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let message = "crm-customer: not built yet (issue 4 has not landed)\n"
_ = message.withCString { write(2, $0, strlen($0)) }
exit(2)
