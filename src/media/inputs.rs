//! What the user names becomes what the player plays, as in mpv and VLC: a folder becomes its video
//! files in natural name order ("ep2" before "ep10"), and an M3U playlist of files and URLs becomes
//! its entries (relative ones found beside the playlist). A playlist at a URL (an IPTV list) is
//! read over the network and becomes its URLs; it may not name local files. An HLS playlist
//! (`#EXT-X-` tags) is a stream FFmpeg plays, and stays one input; so does everything else.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::MediaError;
use super::source::{is_url, read_url};

/// The most of a remote playlist read: a long IPTV list is a few hundred kilobytes.
const REMOTE_PLAYLIST_LIMIT: usize = 8 << 20;

/// Extensions of files a folder contributes: video containers and animated GIFs (not still
/// pictures, which would flash by as one-frame inputs; named alone, they play).
const VIDEO_EXTENSIONS: &[&str] = &[
    "3g2", "3gp", "asf", "avi", "divx", "dv", "f4v", "flv", "gif", "h264", "h265", "hevc", "ivf", "m2t", "m2ts", "m2v",
    "m4v", "mjpeg", "mkv", "mov", "mp4", "mpeg", "mpg", "mts", "mxf", "nut", "ogv", "rm", "rmvb", "ts", "vob", "webm",
    "wmv", "y4m",
];

/// `inputs` with each folder and M3U playlist replaced by what it holds; a playlist at a URL is
/// read with each connect and read given up after `network_timeout`.
pub fn expand(inputs: &[String], network_timeout: Duration) -> Result<Vec<String>, MediaError> {
    let mut expanded = Vec::new();
    for input in inputs {
        expand_into(input, network_timeout, &mut Vec::new(), &mut expanded)?;
    }
    Ok(expanded)
}

/// Expands `input` into `out`; `open` holds the playlists being expanded around it (paths or
/// URLs), so one that names itself (or one naming it) is not followed again.
fn expand_into(
    input: &str,
    network_timeout: Duration,
    open: &mut Vec<String>,
    out: &mut Vec<String>,
) -> Result<(), MediaError> {
    let path = Path::new(input);
    if is_url(input) {
        match remote_m3u_entries(input, network_timeout) {
            Ok(Some(entries)) => expand_entries(input, input.to_owned(), entries, network_timeout, open, out)?,
            Ok(None) => out.push(input.to_owned()),
            // Left for the player, which says why it cannot play it and goes on to the next input.
            Err(error) => {
                tracing::warn!("{error}");
                out.push(input.to_owned());
            }
        }
    } else if path.is_dir() {
        let files = folder_videos(path)?;
        if files.is_empty() {
            return Err(MediaError::NothingToPlay { input: input.to_owned(), what: "no video files in the folder" });
        }
        out.extend(files.iter().map(|file| file.to_string_lossy().into_owned()));
    } else if let Some(entries) = m3u_entries(path)? {
        let identity = path.canonicalize().unwrap_or_else(|_| path.to_owned()).to_string_lossy().into_owned();
        expand_entries(input, identity, entries, network_timeout, open, out)?;
    } else {
        out.push(input.to_owned());
    }
    Ok(())
}

/// Expands the `entries` of the playlist `input` (known as `identity`) into `out`.
fn expand_entries(
    input: &str,
    identity: String,
    entries: Vec<String>,
    network_timeout: Duration,
    open: &mut Vec<String>,
    out: &mut Vec<String>,
) -> Result<(), MediaError> {
    if entries.is_empty() {
        return Err(MediaError::NothingToPlay { input: input.to_owned(), what: "the playlist names nothing" });
    }
    if open.contains(&identity) {
        return Ok(());
    }
    open.push(identity);
    for entry in entries {
        expand_into(&entry, network_timeout, open, out)?;
    }
    open.pop();
    Ok(())
}

/// Whether `name` (a path, or a URL's path) ends in `.m3u` or `.m3u8`.
fn named_m3u(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.ends_with(".m3u") || name.ends_with(".m3u8")
}

/// The lines of an M3U text that name something (not comments or tags), BOM and spaces trimmed;
/// None for an HLS playlist, which is a stream.
fn m3u_lines(bytes: &[u8]) -> Option<Vec<String>> {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("#EXT-X-") {
        return None;
    }
    Some(
        text.lines()
            .map(|line| line.trim().trim_start_matches('\u{feff}'))
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_owned)
            .collect(),
    )
}

/// The entries of the playlist at `url` when its path names an M3U file and it is not HLS:
/// absolute URLs as they are, relative ones resolved against `url`. A local path or `file://` entry
/// is left out (a remote list may not reach into this machine). None for anything else.
fn remote_m3u_entries(url: &str, network_timeout: Duration) -> Result<Option<Vec<String>>, MediaError> {
    let address = url.split(['?', '#']).next().unwrap_or(url);
    if !named_m3u(address) {
        return Ok(None);
    }
    let Some(lines) = m3u_lines(&read_url(url, network_timeout, REMOTE_PLAYLIST_LIMIT)?) else {
        return Ok(None);
    };
    let (scheme, rest) = address.split_once("://").unwrap_or(("http", address));
    let origin = format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest));
    let folder = &address[..address.rfind('/').map_or(address.len(), |slash| slash + 1)];
    let entries = lines
        .into_iter()
        .filter_map(|entry| {
            if is_url(&entry) {
                Some(entry)
            } else if entry.starts_with("file:") || entry.contains(":\\") {
                tracing::warn!("{url}: {entry} left out: a remote playlist may not name local files");
                None
            } else if let Some(network_path) = entry.strip_prefix("//") {
                Some(format!("{scheme}://{network_path}"))
            } else if entry.starts_with('/') {
                Some(format!("{origin}{entry}"))
            } else {
                Some(format!("{folder}{entry}"))
            }
        })
        .collect();
    Ok(Some(entries))
}

/// The video files directly in `folder` (not hidden), in natural name order.
fn folder_videos(folder: &Path) -> Result<Vec<PathBuf>, MediaError> {
    let unreadable =
        |error: std::io::Error| MediaError::Open { input: folder.display().to_string(), cause: error.to_string() };
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(unreadable)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file())
        .filter(|path| path.file_name().is_some_and(|name| !name.to_string_lossy().starts_with('.')))
        .filter(|path| {
            path.extension()
                .and_then(|ext| ext.to_str())
                .is_some_and(|ext| VIDEO_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort_by(|a, b| natural_order(&a.to_string_lossy(), &b.to_string_lossy()));
    Ok(files)
}

/// The entries of `path` when it is an M3U playlist of files and URLs (by its extension, not an
/// HLS one), relative paths taken from the playlist's folder; None for anything else.
fn m3u_entries(path: &Path) -> Result<Option<Vec<String>>, MediaError> {
    if !named_m3u(&path.to_string_lossy()) || !path.is_file() {
        return Ok(None);
    }
    let bytes = std::fs::read(path)
        .map_err(|error| MediaError::Open { input: path.display().to_string(), cause: error.to_string() })?;
    let Some(lines) = m3u_lines(&bytes) else { return Ok(None) };
    let folder = path.parent().unwrap_or(Path::new(""));
    let entries = lines
        .into_iter()
        .map(|entry| {
            let local = entry.strip_prefix("file://").unwrap_or(&entry);
            if is_url(&entry) || Path::new(local).is_absolute() {
                local.to_owned()
            } else {
                folder.join(local).to_string_lossy().into_owned()
            }
        })
        .collect();
    Ok(Some(entries))
}

/// Names compared as people read them: runs of digits by their value, the rest by character,
/// ignoring case.
fn natural_order(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (a.peek().copied(), b.peek().copied()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let number = |chars: &mut std::iter::Peekable<std::str::Chars>| {
                    let mut digits = String::new();
                    while let Some(digit) = chars.next_if(char::is_ascii_digit) {
                        digits.push(digit);
                    }
                    digits
                };
                let (x, y) = (number(&mut a), number(&mut b));
                let (x_value, y_value) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                let order =
                    x_value.len().cmp(&y_value.len()).then_with(|| x_value.cmp(y_value)).then(x.len().cmp(&y.len()));
                if order != Ordering::Equal {
                    return order;
                }
            }
            (Some(x), Some(y)) => {
                let order = x.to_lowercase().cmp(y.to_lowercase());
                if order != Ordering::Equal {
                    return order;
                }
                a.next();
                b.next();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = crate::media::source::DEFAULT_NETWORK_TIMEOUT;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dysr-inputs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn touch(dir: &Path, names: &[&str]) {
        for name in names {
            std::fs::write(dir.join(name), b"").unwrap();
        }
    }

    fn names(inputs: &[String]) -> Vec<String> {
        inputs.iter().map(|input| Path::new(input).file_name().unwrap().to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn names_sort_as_people_read_them() {
        let mut list = vec!["ep10.mkv", "Ep2.mkv", "ep1.mkv", "ep02b.mkv", "extra.mkv", "ep2.mkv"];
        list.sort_by(|a, b| natural_order(a, b));
        assert_eq!(list, ["ep1.mkv", "Ep2.mkv", "ep2.mkv", "ep02b.mkv", "ep10.mkv", "extra.mkv"]);
    }

    /// A folder gives its videos in natural order, leaving out hidden files, still pictures, other
    /// files and folders; one with no videos is one line naming it.
    #[test]
    fn a_folder_gives_its_videos_in_order() {
        let dir = scratch("folder");
        touch(&dir, &["ep10.mkv", "ep9.MP4", ".ep1.mkv", "notes.txt", "cover.png", "intro.gif"]);
        std::fs::create_dir(dir.join("extras.mkv")).unwrap();
        let inputs =
            expand(&[dir.to_string_lossy().into_owned(), "https://example.com/a.mp4".to_owned()], TIMEOUT).unwrap();
        assert_eq!(names(&inputs), ["ep9.MP4", "ep10.mkv", "intro.gif", "a.mp4"]);
        assert_eq!(inputs[3], "https://example.com/a.mp4", "a URL stays as it is");

        let empty = scratch("empty");
        touch(&empty, &["readme.txt"]);
        let error = expand(&[empty.to_string_lossy().into_owned()], TIMEOUT).unwrap_err().to_string();
        assert!(
            error.starts_with(&empty.to_string_lossy().into_owned()) && error.contains("no video files"),
            "{error}"
        );
    }

    /// An M3U playlist gives its entries: comments and blank lines left out, relative paths found
    /// beside it, URLs and absolute paths as they are (a `file://` one as its path), a folder in
    /// it expanded, and the playlist
    /// itself not followed again; an HLS playlist stays one input.
    #[test]
    fn a_playlist_gives_its_entries() {
        let dir = scratch("m3u");
        touch(&dir, &["b.mkv"]);
        std::fs::create_dir(dir.join("season")).unwrap();
        touch(&dir.join("season"), &["s2.mkv", "s1.mkv"]);
        let list = dir.join("list.m3u");
        std::fs::write(
            &list,
            "\u{feff}#EXTM3U\n#EXTINF:10,First\nb.mkv\n\nhttp://example.com/live.mp4\nfile:///absolute/c.mp4\nseason\nlist.m3u\n",
        )
        .unwrap();
        let inputs = expand(&[list.to_string_lossy().into_owned()], TIMEOUT).unwrap();
        assert_eq!(inputs[0], dir.join("b.mkv").to_string_lossy());
        assert_eq!(&inputs[1..3], ["http://example.com/live.mp4", "/absolute/c.mp4"]);
        assert_eq!(names(&inputs[3..]), ["s1.mkv", "s2.mkv"], "the playlist naming itself is not followed");

        let hls = dir.join("stream.m3u8");
        std::fs::write(&hls, "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nsegment0.ts\n").unwrap();
        let hls = hls.to_string_lossy().into_owned();
        assert_eq!(expand(std::slice::from_ref(&hls), TIMEOUT).unwrap(), [hls]);

        let empty = dir.join("empty.m3u");
        std::fs::write(&empty, "#EXTM3U\n").unwrap();
        assert!(
            expand(&[empty.to_string_lossy().into_owned()], TIMEOUT).unwrap_err().to_string().contains("names nothing")
        );
    }
}
