// The supernet's layers as fused compute kernels on one tile of a frame (the whole frame when it
// fits): `head` (luma -> features, ReLU), `body` (features -> features, + input, ReLU) and `tail`
// (features -> four sub-pixel phases + the bilinear x2 of the luma, pixel-shuffled into the output
// texture). The head computes four output channels of one pixel per invocation; the body eight
// channels and the tail the four phases of four pixels, from input staged in workgroup memory. The
// weights are the whole supernet's, packed as [output block of 4][input channel of the
// supernet][tap] vec4s, so a rung (a prefix of the channels and layers) reads a slice of them: a
// switch changes only which layer records are bound.

struct Layer {
    // The tile: its size and where it starts in the frame.
    width: u32,
    height: u32,
    origin_x: u32,
    origin_y: u32,
    in_channels: u32,
    out_channels: u32,
    // Input channels of the supernet's weight tensor: the stride of a slice.
    weight_stride: u32,
    // Offsets in vec4s into `weights` and `biases`.
    weight_offset: u32,
    bias_offset: u32,
    // The part of the tile the tail writes (tile pixels): [start, end) in x and y.
    owned_start_x: u32,
    owned_end_x: u32,
    owned_start_y: u32,
    owned_end_y: u32,
}

// The frame's luma plane.
struct Input {
    // How the texture holds a sample: 0 a float, 1 an 8-bit code in r, 2 a 16-bit code in r (low
    // byte) and g (high byte); the network reads `code * scale + offset` clamped to [low, high].
    kind: u32,
    scale: f32,
    width: u32,
    height: u32,
    offset: f32,
    // The network's output `v` is `(v - offset) * gain` of the code range.
    gain: f32,
    low: f32,
    high: f32,
}

@group(0) @binding(0) var<uniform> layer: Layer;
@group(0) @binding(1) var<storage, read> weights: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> biases: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> features_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> features_out: array<f32>;
@group(1) @binding(0) var luma_plane: texture_2d<f32>;
@group(1) @binding(1) var upscaled: texture_storage_2d<rgba8unorm, write>;
@group(1) @binding(2) var<uniform> input: Input;

// The frame's luma at frame pixel `at`, clamped to the frame (edges repeat).
fn frame_luma(at: vec2<i32>) -> f32 {
    let last = vec2<i32>(i32(input.width) - 1, i32(input.height) - 1);
    let texel = textureLoad(luma_plane, clamp(at, vec2<i32>(0), last), 0);
    var code = texel.r;
    if (input.kind == 1u) {
        code = texel.r * 255.0;
    } else if (input.kind == 2u) {
        code = texel.r * 255.0 + texel.g * 65280.0;
    }
    return clamp(code * input.scale + input.offset, input.low, input.high);
}

// The tile's luma at tile pixel (x, y); zero outside the tile (the convolutions' padding).
fn tile_luma(x: i32, y: i32) -> f32 {
    if (x < 0 || y < 0 || x >= i32(layer.width) || y >= i32(layer.height)) {
        return 0.0;
    }
    return frame_luma(vec2<i32>(i32(layer.origin_x) + x, i32(layer.origin_y) + y));
}

// Channel `c` of the input features at tile pixel (x, y); zero outside the tile.
fn feature(c: u32, x: i32, y: i32) -> f32 {
    if (x < 0 || y < 0 || x >= i32(layer.width) || y >= i32(layer.height)) {
        return 0.0;
    }
    return features_in[(c * layer.height + u32(y)) * layer.width + u32(x)];
}

fn weight(block: u32, input: u32, tap: u32) -> vec4<f32> {
    return weights[layer.weight_offset + (block * layer.weight_stride + input) * 9u + tap];
}

fn store(block: u32, x: u32, y: u32, value: vec4<f32>) {
    let plane = layer.height * layer.width;
    let at = (4u * block * layer.height + y) * layer.width + x;
    features_out[at] = value.x;
    features_out[at + plane] = value.y;
    features_out[at + 2u * plane] = value.z;
    features_out[at + 3u * plane] = value.w;
}

@compute @workgroup_size(16, 16, 1)
fn head(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= layer.width || id.y >= layer.height) {
        return;
    }
    let x = i32(id.x);
    let y = i32(id.y);
    var sum = biases[layer.bias_offset + id.z];
    for (var tap = 0u; tap < 9u; tap++) {
        sum += tile_luma(x + i32(tap % 3u) - 1, y + i32(tap / 3u) - 1) * weight(id.z, 0u, tap);
    }
    store(id.z, id.x, id.y, max(sum, vec4<f32>(0.0)));
}

// A body layer. A workgroup of 8 x 8 invocations computes eight output channels (two blocks) of a
// 32 x 8 patch, each invocation four neighbouring pixels of a row: every input value it reads feeds
// eight multiply-adds per tap and every weight four. The input channels go through in chunks of
// eight: the chunk's patch with its one-pixel halo and its weights are staged in workgroup memory
// first, so the inner loop reads only workgroup memory; the accumulators are two 4 x 4 matrices
// (a column per pixel), so they stay in registers.
const PATCH_W: u32 = 32u;
const PATCH_H: u32 = 8u;
const CHUNK: u32 = 8u;
const STAGED_W: u32 = PATCH_W + 2u;
const STAGED_H: u32 = PATCH_H + 2u;
const STAGED_PLANE: u32 = STAGED_W * STAGED_H;
// CHUNK taps of the two blocks: [block][channel of the chunk][tap].
const STAGED_TAPS: u32 = CHUNK * 9u;
var<workgroup> staged: array<f32, CHUNK * STAGED_PLANE>;
var<workgroup> staged_weights: array<vec4<f32>, 2u * STAGED_TAPS>;

// Channels chunk.. of the input features over the patch at (patch_x, patch_y) and its one-pixel
// halo into `staged`, shared among the workgroup's 64 invocations. Each invocation reads eight
// values before it stores any, so the eight reads are in flight together rather than one after
// another.
fn stage_features(chunk: u32, patch_x: u32, patch_y: u32, lane: u32) {
    for (var first = lane; first < CHUNK * STAGED_PLANE; first += 8u * 64u) {
        let v0 = staged_value(chunk, patch_x, patch_y, first);
        let v1 = staged_value(chunk, patch_x, patch_y, first + 64u);
        let v2 = staged_value(chunk, patch_x, patch_y, first + 128u);
        let v3 = staged_value(chunk, patch_x, patch_y, first + 192u);
        let v4 = staged_value(chunk, patch_x, patch_y, first + 256u);
        let v5 = staged_value(chunk, patch_x, patch_y, first + 320u);
        let v6 = staged_value(chunk, patch_x, patch_y, first + 384u);
        let v7 = staged_value(chunk, patch_x, patch_y, first + 448u);
        stage(first, v0);
        stage(first + 64u, v1);
        stage(first + 128u, v2);
        stage(first + 192u, v3);
        stage(first + 256u, v4);
        stage(first + 320u, v5);
        stage(first + 384u, v6);
        stage(first + 448u, v7);
    }
}

fn stage(i: u32, value: f32) {
    if (i < CHUNK * STAGED_PLANE) {
        staged[i] = value;
    }
}

// Element `i` of the staged chunk (zero past its end).
fn staged_value(chunk: u32, patch_x: u32, patch_y: u32, i: u32) -> f32 {
    if (i >= CHUNK * STAGED_PLANE) {
        return 0.0;
    }
    let at = i % STAGED_PLANE;
    return feature(chunk + i / STAGED_PLANE, i32(patch_x + at % STAGED_W) - 1, i32(patch_y + at / STAGED_W) - 1);
}

// The six staged values of channel `c` of the chunk in row `dy` of the 3 x 3 window that an
// invocation's four pixels read: from the left neighbour of its first to the right one of its last.
struct StagedRow {
    left: vec4<f32>,
    right: vec2<f32>,
}

fn staged_row(c: u32, dy: u32, local: vec3<u32>) -> StagedRow {
    let row = (c * STAGED_H + local.y + dy) * STAGED_W + 4u * local.x;
    return StagedRow(vec4<f32>(staged[row], staged[row + 1u], staged[row + 2u], staged[row + 3u]), vec2<f32>(staged[row + 4u], staged[row + 5u]));
}

// One row of the window for the four pixels: column p is pixel p's sum over the row's three taps of
// one block (weights w0, w1, w2, left to right).
fn row_taps(values: StagedRow, w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>) -> mat4x4<f32> {
    let v = values.left;
    let r = values.right;
    return mat4x4<f32>(
        v.x * w0 + v.y * w1 + v.z * w2,
        v.y * w0 + v.z * w1 + v.w * w2,
        v.z * w0 + v.w * w1 + r.x * w2,
        v.w * w0 + r.x * w1 + r.y * w2,
    );
}

@compute @workgroup_size(8, 8, 1)
fn body(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let patch_x = group.x * PATCH_W;
    let patch_y = group.y * PATCH_H;
    let first_x = patch_x + 4u * local.x;
    let y = patch_y + local.y;
    let blocks = vec2<u32>(2u * group.z, 2u * group.z + 1u);
    let low_bias = biases[layer.bias_offset + blocks.x];
    let high_bias = biases[layer.bias_offset + blocks.y];
    // Column p: pixel p's channels of the block.
    var low = mat4x4<f32>(low_bias, low_bias, low_bias, low_bias);
    var high = mat4x4<f32>(high_bias, high_bias, high_bias, high_bias);
    // Every invocation takes part in the staging and the barriers, also those past the tile's edge.
    for (var chunk = 0u; chunk < layer.in_channels; chunk += CHUNK) {
        workgroupBarrier();
        stage_features(chunk, patch_x, patch_y, lane);
        for (var i = lane; i < 2u * STAGED_TAPS; i += 64u) {
            let at = i % STAGED_TAPS;
            staged_weights[i] = weight(select(blocks.x, blocks.y, i >= STAGED_TAPS), chunk + at / 9u, at % 9u);
        }
        workgroupBarrier();
        for (var c = 0u; c < CHUNK; c++) {
            for (var dy = 0u; dy < 3u; dy++) {
                let values = staged_row(c, dy, local);
                let tap = c * 9u + 3u * dy;
                low += row_taps(values, staged_weights[tap], staged_weights[tap + 1u], staged_weights[tap + 2u]);
                high += row_taps(values, staged_weights[STAGED_TAPS + tap], staged_weights[STAGED_TAPS + tap + 1u], staged_weights[STAGED_TAPS + tap + 2u]);
            }
        }
    }
    if (y >= layer.height) {
        return;
    }
    store_pair(blocks, first_x, y, low[0], high[0]);
    store_pair(blocks, first_x + 1u, y, low[1], high[1]);
    store_pair(blocks, first_x + 2u, y, low[2], high[2]);
    store_pair(blocks, first_x + 3u, y, low[3], high[3]);
}

// The two blocks of tile pixel (x, y), when it is in the tile.
fn store_pair(blocks: vec2<u32>, x: u32, y: u32, low: vec4<f32>, high: vec4<f32>) {
    if (x < layer.width) {
        store_residual(blocks.x, x, y, low);
        store_residual(blocks.y, x, y, high);
    }
}

// Output block `block` at tile pixel (x, y): `sum` plus the same channels of the input, ReLU.
fn store_residual(block: u32, x: u32, y: u32, sum: vec4<f32>) {
    let first = 4u * block;
    let at = vec2<i32>(i32(x), i32(y));
    let skip = vec4<f32>(feature(first, at.x, at.y), feature(first + 1u, at.x, at.y), feature(first + 2u, at.x, at.y), feature(first + 3u, at.x, at.y));
    store(block, x, y, max(sum + skip, vec4<f32>(0.0)));
}

// The 16-bit code of the network's output `value` (back in the code range, clamped to [0, 1]) as
// the low and high bytes the window's shader reads.
fn code_texel(value: f32) -> vec4<f32> {
    let code = u32(round(clamp((value - input.offset) * input.gain, 0.0, 1.0) * 65535.0));
    return vec4<f32>(f32(code & 255u) / 255.0, f32(code >> 8u) / 255.0, 0.0, 1.0);
}

// The tail, laid out as the body: a workgroup computes the four phases of a 32 x 8 patch, each
// invocation four pixels of a row, the input channels staged in chunks of eight.
@compute @workgroup_size(8, 8, 1)
fn tail(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let patch_x = group.x * PATCH_W;
    let patch_y = group.y * PATCH_H;
    let bias = biases[layer.bias_offset];
    // Column p: pixel p's four phases.
    var phases = mat4x4<f32>(bias, bias, bias, bias);
    for (var chunk = 0u; chunk < layer.in_channels; chunk += CHUNK) {
        workgroupBarrier();
        stage_features(chunk, patch_x, patch_y, lane);
        for (var i = lane; i < STAGED_TAPS; i += 64u) {
            staged_weights[i] = weight(0u, chunk + i / 9u, i % 9u);
        }
        workgroupBarrier();
        for (var c = 0u; c < CHUNK; c++) {
            for (var dy = 0u; dy < 3u; dy++) {
                let tap = c * 9u + 3u * dy;
                phases += row_taps(staged_row(c, dy, local), staged_weights[tap], staged_weights[tap + 1u], staged_weights[tap + 2u]);
            }
        }
    }
    let first_x = patch_x + 4u * local.x;
    let y = patch_y + local.y;
    write_upscaled(first_x, y, phases[0]);
    write_upscaled(first_x + 1u, y, phases[1]);
    write_upscaled(first_x + 2u, y, phases[2]);
    write_upscaled(first_x + 3u, y, phases[3]);
}

// Tile pixel (x, y)'s four output pixels, when the tile owns it: the network's four phases plus
// the bilinear x2 of the luma.
fn write_upscaled(x: u32, y: u32, phases: vec4<f32>) {
    if (x < layer.owned_start_x || x >= layer.owned_end_x || y < layer.owned_start_y || y >= layer.owned_end_y) {
        return;
    }
    // Bilinear x2 with half-pixel centres: each phase weighs the pixel 0.75 and its neighbour
    // towards the phase 0.25 along each axis, edges repeated (as the CPU kernels and burn do).
    let at = vec2<i32>(i32(layer.origin_x + x), i32(layer.origin_y + y));
    var l: array<f32, 9>;
    for (var tap = 0; tap < 9; tap++) {
        l[tap] = frame_luma(at + vec2<i32>(tap % 3 - 1, tap / 3 - 1));
    }
    let up = 0.25 * l[1] + 0.75 * l[4];
    let down = 0.75 * l[4] + 0.25 * l[7];
    let up_left = 0.25 * l[0] + 0.75 * l[3];
    let down_left = 0.75 * l[3] + 0.25 * l[6];
    let up_right = 0.25 * l[2] + 0.75 * l[5];
    let down_right = 0.75 * l[5] + 0.25 * l[8];
    let bilinear = vec4<f32>(
        0.25 * up_left + 0.75 * up,
        0.75 * up + 0.25 * up_right,
        0.25 * down_left + 0.75 * down,
        0.75 * down + 0.25 * down_right,
    );
    let value = phases + bilinear;
    let corner = 2 * at;
    textureStore(upscaled, corner, code_texel(value.x));
    textureStore(upscaled, corner + vec2<i32>(1, 0), code_texel(value.y));
    textureStore(upscaled, corner + vec2<i32>(0, 1), code_texel(value.z));
    textureStore(upscaled, corner + vec2<i32>(1, 1), code_texel(value.w));
}
