/// What went wrong with a media operation. `NotMedia`, `Truncated` and
/// `Undecodable` are the caller's input; everything else is an environment or engine fault.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("the file is not media ffprobe can read: {0}")]
    NotMedia(String),
    #[error("the {stream} stops at {plays:.1} s of the {claims:.1} s the file claims")]
    Truncated {
        stream: String,
        plays: f64,
        claims: f64,
    },
    #[error("the audio does not decode: {0}")]
    Undecodable(String),
    #[error("`{program}` could not be started: {source} (is it installed?)")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("`{program}` exited with {status}: {stderr_tail}")]
    Failed {
        program: String,
        status: String,
        stderr_tail: String,
    },
    #[error("`{program}` took longer than {seconds} s and was killed")]
    Timeout { program: String, seconds: u64 },
    #[error("unexpected output from `{program}`: {detail}")]
    BadOutput { program: String, detail: String },
    #[error("i/o error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}
