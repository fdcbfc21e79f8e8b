import BerthCore
import BerthEngine

/// dockerd's answer to a failure: a status from the error's kind and the
/// body `{"message": …}`, which the docker CLI prints as
/// `Error response from daemon: …` (and docker-py raises by status).
enum APIError {
    /// moby's `httpstatus.FromError`: not found 404, invalid 400, conflict
    /// 409, forbidden 403, everything else 500. A refused state change
    /// (`Container x is not running`) is dockerd's 409; a command that cannot
    /// run is the 400 dockerd gives for a start failure.
    static func status(of kind: BerthError.Kind) -> Int {
        switch kind {
        case .notFound: return 404
        case .usage, .arguments, .invalidArgument: return 400
        case .conflict, .invalidState: return 409
        case .permission: return 403
        case .cannotInvoke, .commandNotFound: return 400
        case .unavailable: return 503
        case .integrity, .io, .failed, .interrupted: return 500
        }
    }

    static func response(_ error: BerthError) -> APIResponse {
        message(error.message, status: status(of: error.kind))
    }

    static func message(_ text: String, status: Int) -> APIResponse {
        .json(.object([("message", .string(text))]), status: status)
    }
}
