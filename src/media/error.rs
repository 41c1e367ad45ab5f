//! Errors at the media boundary. Each names the input and says what went wrong in one line.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum MediaError {
    #[error("{input}: file not found")]
    NotFound { input: String },
    #[error("{input}: file is empty")]
    Empty { input: String },
    #[error("{input}: cannot open: {cause}")]
    Open { input: String, cause: String },
    #[error("{input}: has no video stream")]
    NoVideoStream { input: String },
    #[error("{input}: no decoder for the {kind} codec '{codec}'")]
    NoDecoder { input: String, kind: &'static str, codec: String },
    #[error("{input}: cannot set up the {kind} decoder: {cause}")]
    DecoderSetup { input: String, kind: &'static str, cause: String },
    #[error("{input}: nothing to play: {what}")]
    NothingToPlay { input: String, what: &'static str },
    #[error("{input}: cannot start a pipeline thread: {cause}")]
    Thread { input: String, cause: String },
}

/// FFmpeg's error text, lower-cased first letter so it reads inside a sentence.
pub fn ffmpeg_cause(error: &ffmpeg_next::Error) -> String {
    let text = match error {
        ffmpeg_next::Error::InvalidData => "invalid data (not a media file, or truncated)".to_owned(),
        other => other.to_string(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}
