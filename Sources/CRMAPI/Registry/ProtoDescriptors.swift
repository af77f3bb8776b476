internal import Foundation
public import SwiftProtobuf

/// The descriptors of every message in Protos/ (field names, numbers, types, comments), compiled
/// into the module so tools can describe messages without the .proto files.
public enum ProtoDescriptors {
    /// Every file of Protos/, as protoc described it.
    public static let files: [Google_Protobuf_FileDescriptorProto] = {
        guard let data = Data(base64Encoded: protoDescriptorSetBase64),
            let set = try? Google_Protobuf_FileDescriptorSet(serializedBytes: data)
        else { return [] }
        return set.file
    }()

    /// The descriptor of a message by its full name, e.g. `crm.system.v1.EchoRequest`, with the
    /// leading comment of its declaration.
    public static func message(named fullName: String) -> (message: Google_Protobuf_DescriptorProto, comment: String)? {
        for file in files {
            let prefix = file.package.isEmpty ? "" : file.package + "."
            for (index, message) in file.messageType.enumerated() where prefix + message.name == fullName {
                // Source location path [4, index] is the top-level message declaration.
                let comment = file.sourceCodeInfo.location.first { $0.path == [4, Int32(index)] }?.leadingComments ?? ""
                return (message, comment.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        return nil
    }
}
