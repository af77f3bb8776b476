// CRMClient is not built yet: its issue has not landed. This file exists so the package layout of
// docs/ARCHITECTURE.md is visible from the start; nothing here pretends to work.

