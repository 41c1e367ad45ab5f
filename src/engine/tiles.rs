//! Large frames in tiles: every tile has the same size, overlaps its neighbours by the network's
//! receptive radius (the halo), and owns the part of the frame no closer than the halo to any of its
//! edges that is not a frame edge, so the stitched output is what the whole frame would give.

use std::ops::Range;

/// Feature maps larger than this are computed in tiles (it is also below wgpu's default limit on
/// one storage buffer).
const MAX_FEATURE_BYTES: usize = 128 << 20;

/// The tile size for a `width` x `height` frame whose widest feature map has `channels` channels:
/// the whole frame when it fits, else full-width (up to 2048) bands; `limit` overrides the size.
/// Along each axis the tiles are as many as the limit needs and no larger than covering the frame
/// takes: two tiles of the limit's size over a frame just larger than it would each compute most
/// of the frame (a 720p frame for a network 40 wide took twice as long as in one tile).
pub fn tile_size(
    (width, height): (usize, usize),
    channels: usize,
    halo: usize,
    limit: Option<(usize, usize)>,
) -> (usize, usize) {
    let (width_limit, height_limit) = limit.unwrap_or_else(|| {
        let tile_width = width.clamp(1, 2048);
        (tile_width, MAX_FEATURE_BYTES / (4 * channels.max(1) * tile_width))
    });
    let balanced = |length: usize, limit: usize| {
        let limit = length.min(limit.max(2 * halo + 1));
        let count = axis(length, limit, halo).len();
        // n tiles of size s own (s - halo) + (n - 2)(s - 2 halo) + (s - halo) pixels.
        (length + 2 * (count - 1) * halo).div_ceil(count).min(limit)
    };
    (balanced(width, width_limit), balanced(height, height_limit))
}

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
        .flat_map(|(y, owned_y)| {
            columns.iter().map(move |(x, owned_x)| Tile {
                x: *x,
                y: *y,
                owned_x: owned_x.clone(),
                owned_y: owned_y.clone(),
            })
        })
        .collect()
}

/// Something that upscales one tile at a time: its input rows are filled, then it runs.
pub trait TileEngine {
    /// Row `y` of the tile's input luma (the tile's width).
    fn tile_row(&mut self, y: usize) -> &mut [f32];
    /// Upscales the tile into `output` (twice its size).
    fn run_tile(&mut self, output: &mut [f32]);
}

/// Runs `engine` over `tiles` of `tile` = (width, height) of the `width`-wide `frame_luma`, writing
/// each tile's owned part of the output into `output` (2W wide); `scratch` holds one tile's output.
pub fn run_tiled(
    engine: &mut impl TileEngine,
    tiles: &[Tile],
    (tile_width, tile_height): (usize, usize),
    frame_luma: &[f32],
    width: usize,
    scratch: &mut [f32],
    output: &mut [f32],
) {
    for tile in tiles {
        for y in 0..tile_height {
            let start = (tile.y + y) * width + tile.x;
            engine.tile_row(y).copy_from_slice(&frame_luma[start..start + tile_width]);
        }
        if let [only] = tiles {
            debug_assert_eq!(only.owned_x, 0..width);
            return engine.run_tile(output);
        }
        engine.run_tile(scratch);
        // Output rows 2y.. and columns 2x.. of the owned part, from the tile's output.
        let columns = 2 * (tile.owned_x.start - tile.x)..2 * (tile.owned_x.end - tile.x);
        for y in 2 * tile.owned_y.start..2 * tile.owned_y.end {
            let source = &scratch[(y - 2 * tile.y) * 2 * tile_width..][columns.clone()];
            output[y * 2 * width + 2 * tile.owned_x.start..][..source.len()].copy_from_slice(source);
        }
    }
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

    /// Tiles are as many as the limit needs, and together compute little more than the frame and
    /// their halos: a 720-row frame with a 655-row limit runs in two tiles of 368 rows, not 655.
    #[test]
    fn tiles_are_no_larger_than_covering_the_frame_takes() {
        assert_eq!(tile_size((1280, 720), 40, 8, Some((1280, 655))), (1280, 368));
        for length in [10, 31, 100, 257, 720, 1080] {
            for limit in [9, 17, 30, 64, 655] {
                for halo in [1, 4, 8] {
                    let limited = length.min(limit.max(2 * halo + 1));
                    let (size, _) = tile_size((length, 1), 1, halo, Some((limit, 1)));
                    let count = axis(length, limited, halo).len();
                    assert_eq!(axis(length, size, halo).len(), count, "{length}/{limit}/{halo}: as many tiles");
                    assert!(size <= limited, "{length}/{limit}/{halo}: within the limit");
                    assert!(
                        count * size < length + 2 * count * halo + count,
                        "{length}/{limit}/{halo}: {count} x {size}"
                    );
                }
            }
        }
    }
}
