//! Headless playback: the whole pipeline and the clock, no window. Runs to the end of the stream and
//! summarises what happened (`dysr play --headless`, tests, benchmarks).

use std::time::{Duration, Instant};

use super::presenter::StreamState;
use super::summary::PlaybackSummary;
use super::{Player, PlayerOptions};
use crate::media::{MediaError, PipelineEvent};

/// The longest one pass of the headless loop sleeps, so events are noticed promptly.
const MAX_PASS_SLEEP: Duration = Duration::from_millis(10);

#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    #[error(transparent)]
    Open(#[from] MediaError),
    #[error("{input}: {cause}")]
    Playback { input: String, cause: String },
}

/// Plays `input` to its end without a window.
pub fn run(input: &str, options: PlayerOptions) -> Result<PlaybackSummary, HeadlessError> {
    let mut player = Player::open(input, PlayerOptions { looping: false, ..options })?;
    let started = Instant::now();
    let mut output_size = (0, 0);
    while player.state() != StreamState::Eof {
        let wait = player.update(Instant::now());
        if let Some(picture) = player.presenter().current() {
            output_size = picture.size();
        }
        for event in player.take_events() {
            match event {
                PipelineEvent::Warning(warning) => tracing::warn!("{warning}"),
                PipelineEvent::Fatal(cause) => {
                    return Err(HeadlessError::Playback { input: input.to_owned(), cause });
                }
            }
        }
        match wait {
            Some(wait) if wait.is_zero() => {}
            Some(wait) => std::thread::sleep(wait.min(MAX_PASS_SLEEP)),
            None => player.wait(MAX_PASS_SLEEP),
        }
    }
    Ok(PlaybackSummary::of(&player, started.elapsed().as_secs_f64(), Some(output_size)))
}
