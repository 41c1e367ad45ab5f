//! The inputs the window plays one after another, as mpv's playlist: those of the command line, or
//! the files dropped on the window together.

/// Inputs in order and the one playing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Playlist {
    items: Vec<String>,
    current: usize,
}

impl Playlist {
    pub fn new(items: Vec<String>) -> Self {
        Self { items, current: 0 }
    }

    /// The input playing (or about to).
    pub fn current(&self) -> Option<&str> {
        self.items.get(self.current).map(String::as_str)
    }

    /// Where the current input is, "2/5", when there is more than one.
    pub fn position(&self) -> Option<String> {
        (self.items.len() > 1).then(|| format!("{}/{}", self.current + 1, self.items.len()))
    }

    pub fn has_next(&self) -> bool {
        self.current + 1 < self.items.len()
    }

    /// Moves to the next (or the previous) input and returns it; None at either end, where it
    /// stays.
    pub fn step(&mut self, forward: bool) -> Option<&str> {
        self.current = if forward {
            Some(self.current + 1).filter(|&next| next < self.items.len())
        } else {
            self.current.checked_sub(1)
        }?;
        self.current()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_stop_at_either_end() {
        let mut playlist = Playlist::new(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]);
        assert_eq!((playlist.current(), playlist.position().as_deref()), (Some("a"), Some("1/3")));
        assert_eq!(playlist.step(false), None);
        assert_eq!(playlist.current(), Some("a"));
        assert_eq!(playlist.step(true), Some("b"));
        assert_eq!(playlist.step(true), Some("c"));
        assert!(!playlist.has_next());
        assert_eq!(playlist.step(true), None);
        assert_eq!((playlist.current(), playlist.position().as_deref()), (Some("c"), Some("3/3")));
        assert_eq!(playlist.step(false), Some("b"));
    }

    #[test]
    fn one_input_or_none() {
        let single = Playlist::new(vec!["a".to_owned()]);
        assert_eq!((single.current(), single.position(), single.has_next()), (Some("a"), None, false));
        let mut empty = Playlist::default();
        assert_eq!(empty.step(true), None);
        assert_eq!(empty.step(false), None);
        assert_eq!(empty.current(), None);
    }
}
