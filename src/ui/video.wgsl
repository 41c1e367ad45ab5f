// The picture on screen: decoded YUV planes (and the network's x2 luma when SR ran) to RGB, scaled
// to the on-screen rectangle, turned and mirrored as the stream says. One full-viewport triangle;
// egui sets the viewport to the picture's rectangle.
//
// Samples arrive as 8-bit unorm texels. 16-bit samples come as two bytes (r = low, g = high) of an
// Rg8 texel: bilinear filtering is linear, so filtering the bytes apart and adding them back
// (r * 255 + g * 65280) is the filtered 16-bit value, as long as the sampler keeps the filtered
// bytes' fractions. Some do not (Mesa's software one rounds them to 8 bits), which costs up to half
// a high byte: 128 codes. That is 0.5 of an 8-bit code for the network's full-range 16-bit luma,
// but an eighth of the range for 10-bit planes, so those are interpolated here in f32 from loaded
// texels instead.
//
// Luma is scaled with Catmull-Rom bicubic (9 bilinear fetches, exact for this filter because its
// two middle weights are never negative), chroma bilinearly at the stream's siting, interpolated
// here in f32 from four loaded texels: some samplers (Mesa's software one) return 8-bit filtered
// values, which the chroma weights of the matrix would turn into 3 code values of error.

struct Params {
    // frame = [a, b; c, d] * displayed + (e, f), displayed and frame coordinates in [0, 1]
    frame_from_displayed: vec4<f32>,
    // e, f, split (SR right of this share of the width: 0 without the split view), unused
    offset_split_sr: vec4<f32>,
    // source luma width and height, SR luma width and height (texels)
    luma_sizes: vec4<f32>,
    // chroma width and height, luma samples per chroma sample (x, y)
    chroma_size_span: vec4<f32>,
    // chroma siting (x, y) in [0, 1] of a chroma sample's span, 16-bit samples (0 or 1), unused
    siting_layout: vec4<f32>,
    // y_scale, y_offset, c_scale, c_offset
    range: vec4<f32>,
    // r_v, g_u, g_v, b_u
    matrix: vec4<f32>,
    // largest code value of the planes, unused x2, peak luminance of the HDR source in nits
    misc: vec4<f32>,
}

// Bilinear luma and the sampler's own chroma filtering: for software rasterizers, where every
// texture fetch counts.
override FAST_SCALERS: bool = false;
// 0 SDR, 1 PQ, 2 HLG.
override TRANSFER: u32 = 0u;
// The target encodes to sRGB on write: output linear values.
override SRGB_TARGET: bool = false;
// Chroma in one interleaved plane (NV12, P010).
override SEMI_PLANAR: bool = false;
// The planes' samples take two bytes (more than 8 bits).
override WIDE_PLANES: bool = false;
// The picture comes with the network's x2 luma.
override WITH_SR: bool = false;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var linear_clamp: sampler;
@group(0) @binding(2) var y_plane: texture_2d<f32>;
@group(0) @binding(3) var u_plane: texture_2d<f32>;
@group(0) @binding(4) var v_plane: texture_2d<f32>;
@group(0) @binding(5) var sr_luma: texture_2d<f32>;

struct VsOut {
    @builtin(position) position: vec4<f32>,
    @location(0) displayed: vec2<f32>,
}

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VsOut {
    // (0, 0), (2, 0), (0, 2): one triangle that covers the viewport.
    let uv = vec2<f32>(f32(index & 1u) * 2.0, f32(index >> 1u) * 2.0);
    var out: VsOut;
    out.position = vec4<f32>(uv.x * 2.0 - 1.0, 1.0 - uv.y * 2.0, 0.0, 1.0);
    out.displayed = uv;
    return out;
}

// The sample value of a texel: one byte, or two (low, high) when `wide` is 1.
fn code(texel: vec4<f32>, wide: f32) -> f32 {
    return texel.r * 255.0 + texel.g * 65280.0 * wide;
}

// The bilinear sample value of `plane` at `at` in [0, 1]: the sampler's own filtering, or with
// `exact` four loaded texels interpolated in f32.
fn fetch(plane: texture_2d<f32>, at: vec2<f32>, wide: f32, exact: bool) -> f32 {
    if (exact) {
        return code(bilinear(plane, at * vec2<f32>(textureDimensions(plane)) - 0.5), wide);
    }
    return code(textureSampleLevel(plane, linear_clamp, at, 0.0), wide);
}

// Catmull-Rom bicubic of `plane` (size `size` texels) at `uv` in [0, 1].
fn catmull_rom(plane: texture_2d<f32>, uv: vec2<f32>, size: vec2<f32>, wide: f32, exact: bool) -> f32 {
    let position = uv * size;
    let centre = floor(position - 0.5) + 0.5;
    let f = position - centre;
    let w0 = f * (-0.5 + f * (1.0 - 0.5 * f));
    let w1 = 1.0 + f * f * (-2.5 + 1.5 * f);
    let w2 = f * (0.5 + f * (2.0 - 1.5 * f));
    let w3 = f * f * (-0.5 + 0.5 * f);
    let w12 = w1 + w2;
    let at0 = (centre - 1.0) / size;
    let at12 = (centre + w2 / w12) / size;
    let at3 = (centre + 2.0) / size;
    var sum = 0.0;
    sum += fetch(plane, vec2<f32>(at0.x, at0.y), wide, exact) * w0.x * w0.y;
    sum += fetch(plane, vec2<f32>(at12.x, at0.y), wide, exact) * w12.x * w0.y;
    sum += fetch(plane, vec2<f32>(at3.x, at0.y), wide, exact) * w3.x * w0.y;
    sum += fetch(plane, vec2<f32>(at0.x, at12.y), wide, exact) * w0.x * w12.y;
    sum += fetch(plane, vec2<f32>(at12.x, at12.y), wide, exact) * w12.x * w12.y;
    sum += fetch(plane, vec2<f32>(at3.x, at12.y), wide, exact) * w3.x * w12.y;
    sum += fetch(plane, vec2<f32>(at0.x, at3.y), wide, exact) * w0.x * w3.y;
    sum += fetch(plane, vec2<f32>(at12.x, at3.y), wide, exact) * w12.x * w3.y;
    sum += fetch(plane, vec2<f32>(at3.x, at3.y), wide, exact) * w3.x * w3.y;
    return sum;
}

// Luma of `plane` (size `size`) at `uv`: Catmull-Rom, or one bilinear fetch on the fast path.
fn scale_luma(plane: texture_2d<f32>, uv: vec2<f32>, size: vec2<f32>, wide: f32, exact: bool) -> f32 {
    if (FAST_SCALERS) {
        return fetch(plane, uv, wide, exact);
    }
    return catmull_rom(plane, uv, size, wide, exact);
}

// Chroma of `plane` at `position` in sample units: exact bilinear, or the sampler's own on the
// fast path.
fn chroma_texel(plane: texture_2d<f32>, position: vec2<f32>) -> vec4<f32> {
    if (FAST_SCALERS && !WIDE_PLANES) {
        let uv = (position + 0.5) / vec2<f32>(textureDimensions(plane));
        return textureSampleLevel(plane, linear_clamp, uv, 0.0);
    }
    return bilinear(plane, position);
}

// Bilinear interpolation of `plane` at `position` in sample units (sample centres on integers),
// clamped to the plane like the CPU path.
fn bilinear(plane: texture_2d<f32>, position: vec2<f32>) -> vec4<f32> {
    let last = vec2<i32>(textureDimensions(plane)) - 1;
    let clamped = clamp(position, vec2<f32>(0.0), vec2<f32>(last));
    let base = vec2<i32>(floor(clamped));
    let t = clamped - vec2<f32>(base);
    let next = min(base + 1, last);
    let top = mix(textureLoad(plane, base, 0), textureLoad(plane, vec2<i32>(next.x, base.y), 0), t.x);
    let bottom = mix(textureLoad(plane, vec2<i32>(base.x, next.y), 0), textureLoad(plane, next, 0), t.x);
    return mix(top, bottom, t.y);
}

// PQ (SMPTE ST 2084) code to luminance in nits.
fn pq_to_nits(e: vec3<f32>) -> vec3<f32> {
    let m1 = 0.1593017578125;
    let m2 = 78.84375;
    let c1 = 0.8359375;
    let c2 = 18.8515625;
    let c3 = 18.6875;
    let p = pow(clamp(e, vec3<f32>(0.0), vec3<f32>(1.0)), vec3<f32>(1.0 / m2));
    return 10000.0 * pow(max(p - c1, vec3<f32>(0.0)) / (c2 - c3 * p), vec3<f32>(1.0 / m1));
}

// HLG (ARIB STD-B67) code to display luminance in nits on a `peak`-nit display (BT.2100 OOTF).
fn hlg_to_nits(e: vec3<f32>, peak: f32) -> vec3<f32> {
    let a = 0.17883277;
    let b = 0.28466892;
    let c = 0.55991073;
    let x = clamp(e, vec3<f32>(0.0), vec3<f32>(1.0));
    let scene = select((exp((x - c) / a) + b) / 12.0, x * x / 3.0, x <= vec3<f32>(0.5));
    let luminance = dot(scene, vec3<f32>(0.2627, 0.6780, 0.0593));
    let gamma = 1.2 + 0.42 * log(peak / 1000.0) / log(10.0);
    return peak * pow(max(luminance, 1e-6), gamma - 1.0) * scene;
}

// HDR (BT.2020 primaries, PQ or HLG) to SDR BT.709. Luminance is taken relative to a 203-nit
// reference white (BT.2408) and left as it is up to a knee at 0.75 of it; above the knee it is
// compressed with extended Reinhard so that the source's peak lands exactly on SDR white (the
// curve is continuous with slope 1 at the knee). Then the BT.2020 to BT.709 primaries matrix and
// the BT.1886 gamma 2.4 encoding.
fn tone_map(coded: vec3<f32>, transfer: f32, peak_nits: f32) -> vec3<f32> {
    let reference_white = 203.0;
    let knee = 0.75;
    var nits: vec3<f32>;
    if (transfer == 1.0) {
        nits = pq_to_nits(coded);
    } else {
        nits = hlg_to_nits(coded, peak_nits);
    }
    let linear = nits / reference_white;
    let luminance = dot(linear, vec3<f32>(0.2627, 0.6780, 0.0593));
    var mapped = luminance;
    if (luminance > knee) {
        let excess = (luminance - knee) / (1.0 - knee);
        let white = max((peak_nits / reference_white - knee) / (1.0 - knee), 1.0);
        mapped = knee + (1.0 - knee) * excess * (1.0 + excess / (white * white)) / (1.0 + excess);
    }
    let scaled = linear * (mapped / max(luminance, 1e-6));
    let bt709 = vec3<f32>(
        dot(scaled, vec3<f32>(1.6605, -0.5876, -0.0728)),
        dot(scaled, vec3<f32>(-0.1246, 1.1329, -0.0083)),
        dot(scaled, vec3<f32>(-0.0182, -0.1006, 1.1187)),
    );
    return pow(clamp(bt709, vec3<f32>(0.0), vec3<f32>(1.0)), vec3<f32>(1.0 / 2.4));
}

// Gamma-encoded to linear sRGB, for a target that encodes on write.
fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    return select(pow((c + 0.055) / 1.055, vec3<f32>(2.4)), c / 12.92, c <= vec3<f32>(0.04045));
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let m = params.frame_from_displayed;
    let e = params.offset_split_sr.xy;
    let frame = vec2<f32>(m.x * in.displayed.x + m.y * in.displayed.y, m.z * in.displayed.x + m.w * in.displayed.y) + e;
    let wide = params.siting_layout.z;
    let max_code = params.misc.x;

    // Luma in [0, 1] of the code range: the network's where SR ran (right of the split), else
    // the decoded plane's.
    let sr_here = WITH_SR && in.displayed.x >= params.offset_split_sr.z;
    var luma: f32;
    if (sr_here) {
        luma = scale_luma(sr_luma, frame, params.luma_sizes.zw, 1.0, false) / 65535.0;
    } else {
        luma = scale_luma(y_plane, frame, params.luma_sizes.xy, wide, WIDE_PLANES) / max_code;
    }

    // Chroma at its siting: chroma sample j sits at luma position j * span + siting * (span - 1).
    let luma_position = frame * params.luma_sizes.xy - 0.5;
    let span = params.chroma_size_span.zw;
    let chroma_position = (luma_position - params.siting_layout.xy * (span - 1.0)) / span;
    var cb_code: f32;
    var cr_code: f32;
    if (SEMI_PLANAR) {
        // One interleaved plane: (U, V) bytes, or (U low, U high, V low, V high).
        let texel = chroma_texel(u_plane, chroma_position);
        if (wide > 0.5) {
            cb_code = code(texel, 1.0);
            cr_code = code(texel.baba, 1.0);
        } else {
            cb_code = texel.r * 255.0;
            cr_code = texel.g * 255.0;
        }
    } else {
        cb_code = code(chroma_texel(u_plane, chroma_position), wide);
        cr_code = code(chroma_texel(v_plane, chroma_position), wide);
    }

    let range = params.range;
    let k = params.matrix;
    let y = luma * range.x + range.y;
    let cb = cb_code * range.z + range.w;
    let cr = cr_code * range.z + range.w;
    var rgb = vec3<f32>(y + k.x * cr, y - k.y * cb - k.z * cr, y + k.w * cb);
    if (TRANSFER != 0u) {
        rgb = tone_map(rgb, f32(TRANSFER), params.misc.w);
    }
    rgb = clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0));
    if (SRGB_TARGET) {
        rgb = srgb_to_linear(rgb);
    }
    return vec4<f32>(rgb, 1.0);
}
