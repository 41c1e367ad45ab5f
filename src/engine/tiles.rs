//! Large frames in tiles: every tile has the same size, overlaps its neighbours by the network's
//! receptive radius (the halo), and owns the part of the frame no closer than the halo to any of its
//! edges that is not a frame edge, so the stitched output is what the whole frame would give.

use std::ops::Range;

/// One tile: the low-resolution rectangle it reads, and the part of the frame it owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    pub x: usize,
    pub y: usize,
    pub owned_x: Range<usize>,
    pub owned_y: Range<usize>,
}

/// The tiles of one axis: (read start, owned range) for a tile `size` long over `length`.
fn axis(length: usize, size: usize, halo: usize) -> Vec<(usize, Range<usize>)> {
    if size >= length {
        return vec![(0, 0..length)];
    }
    assert!(size > 2 * halo, "a tile of {size} cannot hold a halo of {halo} on both sides");
    let mut tiles = Vec::new();
    let mut owned_start = 0;
    while owned_start < length {
        let start = owned_start.saturating_sub(halo).min(length - size);
        // The last tile reaches the frame edge, so it owns everything to it.
        let owned_end = if start + size == length { length } else { (start + size - halo).min(length) };
        tiles.push((start, owned_start..owned_end));
        owned_start = owned_end;
    }
    tiles
}

/// Tiles of at most `tile` = (width, height) covering a `width` x `height` frame.
pub fn plan((width, height): (usize, usize), tile: (usize, usize), halo: usize) -> Vec<Tile> {
    let (columns, rows) = (axis(width, tile.0, halo), axis(height, tile.1, halo));
    rows.iter()
        .flat_map(|(y, owned_y)| columns.iter().map(move |(x, owned_x)| Tile { x: *x, y: *y, owned_x: owned_x.clone(), owned_y: owned_y.clone() }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_frame_once_and_keep_their_halo() {
        for (length, size, halo) in [(100, 30, 4), (31, 30, 4), (30, 30, 4), (10, 30, 4), (257, 64, 8), (65, 9, 4)] {
            let tiles = axis(length, size, halo);
            let mut next = 0;
            for (start, owned) in &tiles {
                assert_eq!(owned.start, next, "{length}/{size}: owned ranges are contiguous");
                next = owned.end;
                let end = start + size.min(length);
                assert!(owned.start == 0 || owned.start >= start + halo, "{length}/{size}: left halo");
                assert!(owned.end == length || owned.end + halo <= end, "{length}/{size}: right halo");
                assert!(end <= length);
            }
            assert_eq!(next, length);
        }
        assert_eq!(plan((100, 40), (30, 30), 4).len(), axis(100, 30, 4).len() * axis(40, 30, 4).len());
    }
}
