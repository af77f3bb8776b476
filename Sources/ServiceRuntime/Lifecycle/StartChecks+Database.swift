internal import Foundation
public import RPCTransport

extension StartChecks {
    /// The database's folder exists (it is created if need be) and this user may write in it and
    /// to the database file.
    public static func databaseFolder(_ path: String) throws(ConfigurationError) {
        guard !path.isEmpty else {
            throw ConfigurationError(key: "database.path", message: "missing: set where the database lives (database.path)")
        }
        let file = URL(fileURLWithPath: path)
        let folder = file.deletingLastPathComponent().path
        // Each missing folder made in turn, so that the error names the one that could not be.
        var made = folder.hasPrefix("/") ? "" : "."
        for component in folder.split(separator: "/") {
            made += "/\(component)"
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: made, isDirectory: &isFolder) {
                guard isFolder.boolValue else {
                    throw ConfigurationError(key: "database.path", message: "cannot create the data folder \(folder): \(made) is a file")
                }
                continue
            }
            guard mkdir(made, 0o750) == 0 || errno == EEXIST else {
                throw ConfigurationError(
                    key: "database.path", message: "cannot create the data folder \(made): \(String(cString: strerror(errno)))")
            }
        }
        guard access(folder, W_OK | X_OK) == 0 else {
            throw ConfigurationError(key: "database.path", message: "the data folder \(folder) is not writable: \(String(cString: strerror(errno)))")
        }
        if FileManager.default.fileExists(atPath: file.path), access(file.path, R_OK | W_OK) != 0 {
            throw ConfigurationError(key: "database.path", message: "\(file.path) is not writable: \(String(cString: strerror(errno)))")
        }
    }
}
