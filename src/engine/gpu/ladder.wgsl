// The supernet's layers as fused compute kernels on one tile of a frame (the whole frame when it
// fits): `head` (luma -> features, ReLU), `body` (features -> features, + input, ReLU) and `tail`
// (features -> four sub-pixel phases + the bilinear x2 of the luma, pixel-shuffled into the output
// texture). The head and the tail compute four output channels of one pixel per invocation, the
// body eight channels of four pixels; the weights are the whole
// supernet's, packed as [output block of 4][input channel of the supernet][tap] vec4s, so a rung
// (a prefix of the channels and layers) reads a slice of them: a switch changes only which layer
// records are bound.

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
    // byte) and g (high byte); times `scale` it is in [0, 1].
    kind: u32,
    scale: f32,
    width: u32,
    height: u32,
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
    return code * input.scale;
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

// The 3x3 convolution of the input features for output channels 4 * block.., without bias.
fn convolve(block: u32, x: i32, y: i32) -> vec4<f32> {
    var sum = vec4<f32>(0.0);
    for (var c = 0u; c < layer.in_channels; c++) {
        for (var tap = 0u; tap < 9u; tap++) {
            let value = feature(c, x + i32(tap % 3u) - 1, y + i32(tap / 3u) - 1);
            sum += value * weight(block, c, tap);
        }
    }
    return sum;
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

// A body layer: each invocation computes eight output channels (two blocks) of four neighbouring
// pixels of a row, so every input value it loads feeds eight multiply-adds per tap and every weight
// four: enough arithmetic per load to keep a GPU's ALUs rather than its caches busy.
@compute @workgroup_size(8, 8, 1)
fn body(@builtin(global_invocation_id) id: vec3<u32>) {
    let first_x = 4u * id.x;
    if (first_x >= layer.width || id.y >= layer.height) {
        return;
    }
    let y = i32(id.y);
    let blocks = vec2<u32>(2u * id.z, 2u * id.z + 1u);
    var acc: array<vec4<f32>, 8>;
    for (var p = 0u; p < 4u; p++) {
        acc[2u * p] = biases[layer.bias_offset + blocks.x];
        acc[2u * p + 1u] = biases[layer.bias_offset + blocks.y];
    }
    for (var c = 0u; c < layer.in_channels; c++) {
        for (var dy = 0; dy < 3; dy++) {
            var row: array<f32, 6>;
            for (var k = 0; k < 6; k++) {
                row[k] = feature(c, i32(first_x) + k - 1, y + dy - 1);
            }
            for (var dx = 0; dx < 3; dx++) {
                let tap = u32(dy * 3 + dx);
                let low = weight(blocks.x, c, tap);
                let high = weight(blocks.y, c, tap);
                for (var p = 0; p < 4; p++) {
                    acc[2 * p] += row[p + dx] * low;
                    acc[2 * p + 1] += row[p + dx] * high;
                }
            }
        }
    }
    for (var p = 0u; p < 4u; p++) {
        let x = first_x + p;
        if (x < layer.width) {
            for (var half = 0u; half < 2u; half++) {
                let first = 4u * blocks[half];
                let skip = vec4<f32>(feature(first, i32(x), y), feature(first + 1u, i32(x), y), feature(first + 2u, i32(x), y), feature(first + 3u, i32(x), y));
                store(blocks[half], x, id.y, max(acc[2u * p + half] + skip, vec4<f32>(0.0)));
            }
        }
    }
}

// The 16-bit code of `value` (clamped to [0, 1]) as the low and high bytes the window's shader reads.
fn code_texel(value: f32) -> vec4<f32> {
    let code = u32(round(clamp(value, 0.0, 1.0) * 65535.0));
    return vec4<f32>(f32(code & 255u) / 255.0, f32(code >> 8u) / 255.0, 0.0, 1.0);
}

@compute @workgroup_size(16, 16, 1)
fn tail(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x < layer.owned_start_x || id.x >= layer.owned_end_x || id.y < layer.owned_start_y || id.y >= layer.owned_end_y) {
        return;
    }
    let phases = biases[layer.bias_offset] + convolve(0u, i32(id.x), i32(id.y));
    // Bilinear x2 with half-pixel centres: each phase weighs the pixel 0.75 and its neighbour
    // towards the phase 0.25 along each axis, edges repeated (as the CPU kernels and burn do).
    let at = vec2<i32>(i32(layer.origin_x + id.x), i32(layer.origin_y + id.y));
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
