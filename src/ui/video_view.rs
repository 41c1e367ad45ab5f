//! The picture on screen, drawn on the GPU as mpv does: the presented frame's planes (and the
//! network's x2 luma when SR ran) are uploaded as textures, and one wgpu shader (`video.wgsl`) in
//! an egui paint callback converts YUV to RGB (the stream's matrix, range, chroma siting; PQ and
//! HLG tone-mapped to SDR), scales to the on-screen rectangle with Catmull-Rom bicubic, and turns
//! and mirrors it as the stream says. The CPU makes no RGB picture for the window.
//!
//! Textures are uploaded once per new frame (keyed on the presenter's serial), and made anew only
//! when the frame's size or layout changes. The renderer lives in egui-wgpu's callback resources,
//! set up by [`install`] on eframe's device (or a test's).

use std::sync::Arc;

use eframe::egui_wgpu::{self, wgpu};
use egui::{Rect, Ui, vec2};

use crate::engine::colour::{ColourSpec, Siting};
use crate::engine::picture::{LumaImage, LumaSamples, Picture, PlaneLayout, Upscaled};
use crate::media::geometry::DisplayGeometry;
use crate::media::hdr::Hdr10;

/// The peak luminance assumed for HDR sources, in nits: HLG's nominal display peak, and a PQ
/// source's when its metadata gives none (the common mastering peak).
const HDR_PEAK_NITS: f32 = 1000.0;

/// Whether `frame`'s codes are PQ (SMPTE ST 2084).
fn is_pq(frame: &ffmpeg_next::frame::Video) -> bool {
    frame.color_transfer_characteristic() == ffmpeg_next::color::TransferCharacteristic::SMPTE2084
}

/// The frame on screen and how to show it.
#[derive(Default)]
pub struct VideoView {
    picture: Option<Arc<Picture>>,
    /// The presenter serial of `picture`: the renderer uploads when it changes.
    serial: u64,
    /// The input's peak luminance as its HDR10 metadata last said (in HEVC only keyframes carry
    /// it), which the tone mapping of PQ compresses to SDR white, as mpv does.
    hdr_peak_nits: Option<f32>,
}

impl VideoView {
    /// Takes the presenter's current frame.
    pub fn update(&mut self, picture: Option<&Arc<Picture>>, serial: u64) {
        if let Some(picture) = picture {
            // Only a new PQ frame's side data is looked at: the peak matters to nothing else.
            if serial != self.serial
                && is_pq(&picture.frame)
                && let Some(peak) = Hdr10::of_frame(&picture.frame).and_then(|hdr| hdr.peak_nits())
            {
                self.hdr_peak_nits = Some(peak.clamp(100.0, 10_000.0));
            }
            self.picture = Some(Arc::clone(picture));
            self.serial = serial;
        }
    }

    /// Forgets the picture (a new input was opened).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// The peak luminance the tone mapping of a PQ picture compresses to SDR white, in nits.
    fn pq_peak_nits(&self) -> f32 {
        self.hdr_peak_nits.unwrap_or(HDR_PEAK_NITS)
    }

    pub fn picture(&self) -> Option<&Arc<Picture>> {
        self.picture.as_ref()
    }

    /// Paints the picture letterboxed into the available space, displayed as `geometry` says,
    /// with the network's luma right of `split` (a share of the width) when there is some;
    /// returns where it went.
    pub fn video_ui(&self, ui: &mut Ui, geometry: DisplayGeometry, split: Option<f32>) -> Option<Rect> {
        // Nothing is painted around the picture: the window is cleared to black (on a software
        // rasterizer every pixel egui shades costs as much as the picture's own).
        let area = ui.available_rect_before_wrap();
        let picture = self.picture.as_ref()?;
        let (width, height) = geometry.displayed_size(picture.frame.width(), picture.frame.height());
        let rect = letterbox(area, vec2(width as f32, height as f32));
        let paint = VideoPaint {
            picture: Arc::clone(picture),
            serial: self.serial,
            params: Params::new(picture, geometry, split, self.pq_peak_nits()),
            target: Target::Picture,
        };
        ui.painter().add(egui_wgpu::Callback::new_paint_callback(rect, paint));
        Some(rect)
    }

    /// Paints the zoom lens: the part of the picture (drawn at `picture`) around `pointer`
    /// magnified `zoom` times into a square of `side` points kept inside the picture, both sides
    /// of the split and the divider between them included; returns the lens's rect.
    pub fn lens_ui(
        &self,
        ui: &mut Ui,
        geometry: DisplayGeometry,
        split: Option<f32>,
        picture: Rect,
        pointer: egui::Pos2,
        (side, zoom): (f32, f32),
    ) -> Option<Rect> {
        let shown = self.picture.as_ref()?;
        let side = side.min(picture.width()).min(picture.height());
        let lens = Rect::from_center_size(pointer, vec2(side, side)).translate(vec2(
            (picture.left() - (pointer.x - side / 2.0)).max(0.0)
                + (picture.right() - (pointer.x + side / 2.0)).min(0.0),
            (picture.top() - (pointer.y - side / 2.0)).max(0.0)
                + (picture.bottom() - (pointer.y + side / 2.0)).min(0.0),
        ));
        // The picture's share under the lens: its centre where the pointer is, 1/zoom of its size.
        let extent = [side / zoom / picture.width(), side / zoom / picture.height()];
        let centre = [(pointer.x - picture.left()) / picture.width(), (pointer.y - picture.top()) / picture.height()];
        let origin = [
            (centre[0] - extent[0] / 2.0).clamp(0.0, 1.0 - extent[0]),
            (centre[1] - extent[1] / 2.0).clamp(0.0, 1.0 - extent[1]),
        ];
        let params = Params::new(shown, geometry, split, self.pq_peak_nits()).zoomed(origin, extent, split);
        let paint = VideoPaint { picture: Arc::clone(shown), serial: self.serial, params, target: Target::Lens };
        ui.painter().add(egui_wgpu::Callback::new_paint_callback(lens, paint));
        let stroke = egui::Stroke::new(2.0, egui::Color32::WHITE);
        // The split's divider where it falls inside the magnified part, as over the picture.
        if let Some(at) = split.map(|split| (split - origin[0]) / extent[0]).filter(|at| (0.0..=1.0).contains(at)) {
            let x = lens.left() + at * lens.width();
            ui.painter().line_segment([egui::pos2(x, lens.top()), egui::pos2(x, lens.bottom())], stroke);
        }
        ui.painter().rect_stroke(lens, 0.0, stroke, egui::StrokeKind::Outside);
        Some(lens)
    }
}

/// The largest rect of the picture's aspect that fits in `area`, centred.
pub fn letterbox(area: Rect, picture: egui::Vec2) -> Rect {
    if picture.x <= 0.0 || picture.y <= 0.0 {
        return area;
    }
    let scale = (area.width() / picture.x).min(area.height() / picture.y);
    Rect::from_center_size(area.center(), vec2(picture.x * scale, picture.y * scale))
}

/// Where a bitmap subtitle's canvas lies over the picture drawn at `picture`. Subtitles stay
/// upright: the canvas covers the picture, stretched with it, unless the picture is turned a
/// quarter (a phone clip), where it keeps the shape it would have on the unturned picture,
/// shrunk to the picture's width and set at its bottom.
pub fn subtitle_canvas(picture: Rect, geometry: DisplayGeometry) -> Rect {
    if !geometry.is_transposed() {
        return picture;
    }
    let unturned = vec2(picture.height(), picture.width());
    let size = unturned * (picture.width() / unturned.x).min(picture.height() / unturned.y);
    Rect::from_min_size(egui::pos2(picture.center().x - size.x / 2.0, picture.max.y - size.y), size)
}

/// Sets up the video renderer on `render_state`'s device; returns the largest texture side that
/// device takes (frames over it cannot be shown).
pub fn install(render_state: &egui_wgpu::RenderState) -> u32 {
    let software = render_state.adapter.get_info().device_type == wgpu::DeviceType::Cpu;
    let renderer = VideoRenderer::new(&render_state.device, render_state.target_format, software);
    render_state.renderer.write().callback_resources.insert(renderer);
    render_state.device.limits().max_texture_dimension_2d
}

/// The shader's uniforms (`Params` in `video.wgsl`), all vec4s.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    frame_from_displayed: [f32; 4],
    offset_split_sr: [f32; 4],
    luma_sizes: [f32; 4],
    chroma_size_span: [f32; 4],
    siting_layout: [f32; 4],
    range: [f32; 4],
    matrix: [f32; 4],
    misc: [f32; 4],
}

impl Params {
    /// These parameters for a view of the displayed picture's part from `origin` over `extent`
    /// (shares of its width and height) stretched over the whole target: the split moves with it.
    fn zoomed(self, origin: [f32; 2], extent: [f32; 2], split: Option<f32>) -> Self {
        let [a, b, c, d] = self.frame_from_displayed;
        let [e, f, _, unused] = self.offset_split_sr;
        let [ox, oy] = origin;
        let [sx, sy] = extent;
        let split = split.map_or(0.0, |split| (split - ox) / sx);
        Self {
            frame_from_displayed: [a * sx, b * sy, c * sx, d * sy],
            offset_split_sr: [a * ox + b * oy + e, c * ox + d * oy + f, split, unused],
            ..self
        }
    }

    /// `pq_peak_nits`: what a PQ picture's brightest light is (HLG's is its nominal display peak).
    fn new(picture: &Picture, geometry: DisplayGeometry, split: Option<f32>, pq_peak_nits: f32) -> Self {
        let frame = &picture.frame;
        let layout = PlaneLayout::of(frame.format()).expect("the SR worker hands on readable layouts only");
        let (width, height) = (frame.width(), frame.height());
        let (chroma_w, chroma_h) = layout.chroma_size(width, height);
        let [a, b, c, d, e, f] = geometry.frame_from_displayed();
        let (sr_w, sr_h) = match &picture.upscaled {
            Upscaled::Luma(luma) => (luma.width, luma.height),
            _ => (1, 1),
        };
        let siting = Siting::of(frame.chroma_location());
        let coefficients = ColourSpec::of_frame(frame, layout.bits).coefficients();
        let flag = |on: bool| if on { 1.0 } else { 0.0 };
        Self {
            frame_from_displayed: [a, b, c, d],
            offset_split_sr: [e, f, split.unwrap_or(0.0), 0.0],
            luma_sizes: [width as f32, height as f32, sr_w as f32, sr_h as f32],
            chroma_size_span: [
                chroma_w as f32,
                chroma_h as f32,
                (1 << layout.chroma_shift.0) as f32,
                (1 << layout.chroma_shift.1) as f32,
            ],
            siting_layout: [siting.horizontal, siting.vertical, flag(layout.bits > 8), 0.0],
            range: [coefficients[0], coefficients[1], coefficients[2], coefficients[3]],
            matrix: [coefficients[4], coefficients[5], coefficients[6], coefficients[7]],
            misc: [
                ((1u32 << layout.bits) - 1) as f32,
                0.0,
                0.0,
                if is_pq(frame) { pq_peak_nits } else { HDR_PEAK_NITS },
            ],
        }
    }
}

/// What a picture needs of the shader beyond its uniforms: each combination is a pipeline of its
/// own (the shader's overridable constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Variant {
    /// 0 SDR, 1 PQ, 2 HLG.
    transfer: u32,
    semi_planar: bool,
    /// Samples of more than 8 bits (two bytes).
    wide_planes: bool,
    with_sr: bool,
}

impl Variant {
    fn of(picture: &Picture) -> Self {
        use ffmpeg_next::util::color::TransferCharacteristic;
        let transfer = match picture.frame.color_transfer_characteristic() {
            TransferCharacteristic::SMPTE2084 => 1,
            TransferCharacteristic::ARIB_STD_B67 => 2,
            _ => 0,
        };
        let layout = PlaneLayout::of(picture.frame.format());
        Self {
            transfer,
            semi_planar: layout.is_some_and(|layout| layout.semi_planar),
            wide_planes: layout.is_some_and(|layout| layout.bits > 8),
            with_sr: matches!(picture.upscaled, Upscaled::Luma(_)),
        }
    }
}

/// Where a paint goes: the picture itself, or the zoom lens over it (its own uniforms, the same
/// textures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Picture,
    Lens,
}

/// One frame drawn: what egui hands to the renderer.
struct VideoPaint {
    picture: Arc<Picture>,
    serial: u64,
    params: Params,
    target: Target,
}

impl egui_wgpu::CallbackTrait for VideoPaint {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if let Some(renderer) = resources.get_mut::<VideoRenderer>() {
            renderer.prepare(device, queue, &self.picture, self.serial, self.params, self.target);
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        render_pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        if let Some(renderer) = resources.get::<VideoRenderer>() {
            renderer.paint(render_pass, self.target);
        }
    }
}

/// A texture kept while its size and format hold.
struct PlaneTexture {
    texture: wgpu::Texture,
    size: (u32, u32),
    format: wgpu::TextureFormat,
}

/// The textures a frame's planes go to. Semi-planar chroma uses `u` for both U and V.
#[derive(Default)]
struct PlaneTextures {
    y: Option<PlaneTexture>,
    u: Option<PlaneTexture>,
    v: Option<PlaneTexture>,
    sr: Option<PlaneTexture>,
}

/// The pipelines and the textures of the picture on screen.
pub struct VideoRenderer {
    module: wgpu::ShaderModule,
    pipeline_layout: wgpu::PipelineLayout,
    target_format: wgpu::TextureFormat,
    /// One pipeline per variant met so far, and the one the current picture needs.
    pipelines: std::collections::HashMap<Variant, wgpu::RenderPipeline>,
    variant: Option<Variant>,
    /// Bilinear scaling and sampler-filtered chroma: the adapter is a software rasterizer.
    fast_scalers: bool,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    params: wgpu::Buffer,
    lens_params: wgpu::Buffer,
    textures: PlaneTextures,
    /// The textures with the picture's uniforms, and with the lens's.
    bind_group: Option<wgpu::BindGroup>,
    lens_bind_group: Option<wgpu::BindGroup>,
    uploaded_serial: Option<u64>,
}

impl VideoRenderer {
    /// Pipelines drawing into `target_format`; `fast_scalers` on a software rasterizer.
    pub fn new(device: &wgpu::Device, target_format: wgpu::TextureFormat, fast_scalers: bool) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("dysr video"),
            source: wgpu::ShaderSource::Wgsl(include_str!("video.wgsl").into()),
        });
        let texture_entry = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                multisampled: false,
                sample_type: wgpu::TextureSampleType::Float { filterable: true },
                view_dimension: wgpu::TextureViewDimension::D2,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("dysr video"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
                texture_entry(2),
                texture_entry(3),
                texture_entry(4),
                texture_entry(5),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("dysr video"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("dysr video"),
            address_mode_u: wgpu::AddressMode::ClampToEdge,
            address_mode_v: wgpu::AddressMode::ClampToEdge,
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        let uniforms = |label| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: std::mem::size_of::<Params>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        let (params, lens_params) = (uniforms("dysr video params"), uniforms("dysr lens params"));
        Self {
            module,
            pipeline_layout,
            target_format,
            pipelines: std::collections::HashMap::new(),
            variant: None,
            fast_scalers,
            layout,
            sampler,
            params,
            lens_params,
            textures: PlaneTextures::default(),
            bind_group: None,
            lens_bind_group: None,
            uploaded_serial: None,
        }
    }

    /// The pipeline for `variant`, made the first time it is needed.
    fn ensure_pipeline(&mut self, device: &wgpu::Device, variant: Variant) {
        let flag = |on: bool| if on { 1.0 } else { 0.0 };
        let constants = [
            ("FAST_SCALERS", flag(self.fast_scalers)),
            ("TRANSFER", f64::from(variant.transfer)),
            ("SRGB_TARGET", flag(self.target_format.is_srgb())),
            ("SEMI_PLANAR", flag(variant.semi_planar)),
            ("WIDE_PLANES", flag(variant.wide_planes)),
            ("WITH_SR", flag(variant.with_sr)),
        ];
        let (module, layout, format) = (&self.module, &self.pipeline_layout, self.target_format);
        self.pipelines.entry(variant).or_insert_with(|| {
            let options = wgpu::PipelineCompilationOptions { constants: &constants, ..Default::default() };
            device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                label: Some("dysr video"),
                layout: Some(layout),
                vertex: wgpu::VertexState {
                    module,
                    entry_point: Some("vs_main"),
                    buffers: &[],
                    compilation_options: options.clone(),
                },
                primitive: wgpu::PrimitiveState::default(),
                depth_stencil: None,
                multisample: wgpu::MultisampleState::default(),
                fragment: Some(wgpu::FragmentState {
                    module,
                    entry_point: Some("fs_main"),
                    targets: &[Some(wgpu::ColorTargetState {
                        format,
                        blend: None,
                        write_mask: wgpu::ColorWrites::ALL,
                    })],
                    compilation_options: options,
                }),
                multiview_mask: None,
                cache: None,
            })
        });
        self.variant = Some(variant);
    }

    /// Uploads `picture` unless it is the one already uploaded, and sets the uniforms.
    fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        picture: &Picture,
        serial: u64,
        params: Params,
        target: Target,
    ) {
        self.ensure_pipeline(device, Variant::of(picture));
        let buffer = match target {
            Target::Picture => &self.params,
            Target::Lens => &self.lens_params,
        };
        queue.write_buffer(buffer, 0, bytemuck::bytes_of(&params));
        if self.uploaded_serial == Some(serial) && self.bind_group.is_some() {
            return;
        }
        self.upload(device, queue, picture);
        self.uploaded_serial = Some(serial);
    }

    fn upload(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, picture: &Picture) {
        use wgpu::TextureFormat::{R8Unorm, Rg8Unorm, Rgba8Unorm};
        let frame = &picture.frame;
        let Some(layout) = PlaneLayout::of(frame.format()) else { return };
        let (width, height) = (frame.width(), frame.height());
        let chroma = layout.chroma_size(width, height);
        let wide = layout.bytes_per_sample() == 2;
        let sample_format = if wide { Rg8Unorm } else { R8Unorm };
        let mut changed = false;
        changed |= ensure(device, &mut self.textures.y, (width, height), sample_format);
        if layout.semi_planar {
            changed |= ensure(device, &mut self.textures.u, chroma, if wide { Rgba8Unorm } else { Rg8Unorm });
            changed |= self.textures.v.take().is_some();
        } else {
            changed |= ensure(device, &mut self.textures.u, chroma, sample_format);
            changed |= ensure(device, &mut self.textures.v, chroma, sample_format);
        }
        let sr_size = match &picture.upscaled {
            Upscaled::Luma(luma) => (luma.width, luma.height),
            _ => (1, 1),
        };
        match &picture.upscaled {
            // The SR worker's texture on this same device: bound as it is, nothing copied.
            Upscaled::Luma(LumaImage { samples: LumaSamples::Device(output), .. }) => {
                if self.textures.sr.as_ref().is_none_or(|plane| plane.texture != *output.texture()) {
                    self.textures.sr = Some(PlaneTexture {
                        texture: output.texture().clone(),
                        size: sr_size,
                        format: wgpu::TextureFormat::Rgba8Unorm,
                    });
                    changed = true;
                }
            }
            _ => changed |= ensure(device, &mut self.textures.sr, sr_size, Rg8Unorm),
        }

        fn texture_of(slot: &Option<PlaneTexture>) -> &PlaneTexture {
            slot.as_ref().expect("ensured above")
        }
        write_plane(queue, texture_of(&self.textures.y), frame.data(0), frame.stride(0));
        write_plane(queue, texture_of(&self.textures.u), frame.data(1), frame.stride(1));
        if let Some(v) = &self.textures.v {
            write_plane(queue, v, frame.data(2), frame.stride(2));
        }
        if let Upscaled::Luma(LumaImage { samples: LumaSamples::Host(codes), width, .. }) = &picture.upscaled {
            write_plane(queue, texture_of(&self.textures.sr), codes, 2 * *width as usize);
        }
        if changed || self.bind_group.is_none() {
            self.bind_group = Some(self.bind_group(device, &self.params));
            self.lens_bind_group = Some(self.bind_group(device, &self.lens_params));
        }
    }

    fn bind_group(&self, device: &wgpu::Device, params: &wgpu::Buffer) -> wgpu::BindGroup {
        let view = |slot: &Option<PlaneTexture>| {
            slot.as_ref().expect("ensured before binding").texture.create_view(&wgpu::TextureViewDescriptor::default())
        };
        let (y, u, sr) = (view(&self.textures.y), view(&self.textures.u), view(&self.textures.sr));
        // Semi-planar chroma: the interleaved plane stands in both chroma slots.
        let v = if self.textures.v.is_some() { view(&self.textures.v) } else { view(&self.textures.u) };
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("dysr video"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::Sampler(&self.sampler) },
                wgpu::BindGroupEntry { binding: 2, resource: wgpu::BindingResource::TextureView(&y) },
                wgpu::BindGroupEntry { binding: 3, resource: wgpu::BindingResource::TextureView(&u) },
                wgpu::BindGroupEntry { binding: 4, resource: wgpu::BindingResource::TextureView(&v) },
                wgpu::BindGroupEntry { binding: 5, resource: wgpu::BindingResource::TextureView(&sr) },
            ],
        })
    }

    fn paint(&self, render_pass: &mut wgpu::RenderPass<'static>, target: Target) {
        let bind_group = match target {
            Target::Picture => &self.bind_group,
            Target::Lens => &self.lens_bind_group,
        };
        let (Some(bind_group), Some(pipeline)) =
            (bind_group, self.variant.and_then(|variant| self.pipelines.get(&variant)))
        else {
            return;
        };
        render_pass.set_pipeline(pipeline);
        render_pass.set_bind_group(0, bind_group, &[]);
        render_pass.draw(0..3, 0..1);
    }
}

/// Makes `slot` a `size` texture of `format` unless it already is; true when it made one.
fn ensure(
    device: &wgpu::Device,
    slot: &mut Option<PlaneTexture>,
    size: (u32, u32),
    format: wgpu::TextureFormat,
) -> bool {
    if slot.as_ref().is_some_and(|plane| plane.size == size && plane.format == format) {
        return false;
    }
    let texture = crate::engine::gpu::plane_texture(
        device,
        "dysr video plane",
        size,
        format,
        wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
    );
    *slot = Some(PlaneTexture { texture, size, format });
    true
}

/// Copies a plane whose rows are `stride` bytes apart into `plane`.
fn write_plane(queue: &wgpu::Queue, plane: &PlaneTexture, data: &[u8], stride: usize) {
    let (width, height) = plane.size;
    queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture: &plane.texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        data,
        wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(stride as u32), rows_per_image: Some(height) },
        wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::BufferPool;
    use crate::engine::colour::{SamplePlane, YuvToRgba};
    use crate::engine::picture::LumaImage;
    use ffmpeg_next::format::Pixel;
    use ffmpeg_next::util::color;

    /// A PQ input's peak comes from its HDR10 metadata and holds over frames without it (in HEVC
    /// only keyframes carry it), until another input opens; SDR and HLG pictures keep the nominal
    /// 1000 nits.
    #[test]
    fn a_pq_pictures_peak_is_its_content_light_level() {
        use crate::media::hdr::{ContentLightLevel, bytes_of, with_side_data};
        use ffmpeg_next::ffi::AVFrameSideDataType::AV_FRAME_DATA_CONTENT_LIGHT_LEVEL;
        crate::media::init_ffmpeg();
        let pq_frame = || {
            let mut frame = ffmpeg_next::frame::Video::new(Pixel::YUV420P10LE, 8, 8);
            frame.set_color_transfer_characteristic(color::TransferCharacteristic::SMPTE2084);
            frame
        };
        let picture = |frame| Arc::new(Picture { pts_secs: 0.0, duration_secs: 0.04, frame, upscaled: Upscaled::None });
        let level = bytes_of(&ContentLightLevel { max_cll: 4000, max_fall: 400 });
        let mut view = VideoView::default();
        view.update(Some(&picture(with_side_data(pq_frame(), AV_FRAME_DATA_CONTENT_LIGHT_LEVEL, &level))), 1);
        view.update(Some(&picture(pq_frame())), 2);
        assert_eq!(view.pq_peak_nits(), 4000.0, "held over a frame without metadata");
        let geometry = DisplayGeometry::default();
        let shown = view.picture().unwrap();
        assert_eq!(Params::new(shown, geometry, None, view.pq_peak_nits()).misc[3], 4000.0);
        let hlg = {
            let mut frame = pq_frame();
            frame.set_color_transfer_characteristic(color::TransferCharacteristic::ARIB_STD_B67);
            picture(frame)
        };
        assert_eq!(Params::new(&hlg, geometry, None, view.pq_peak_nits()).misc[3], HDR_PEAK_NITS);
        view.clear();
        assert_eq!(view.pq_peak_nits(), HDR_PEAK_NITS, "forgotten with the input");
    }

    /// The software adapter's device (Mesa lavapipe here): fine for correctness at small sizes.
    fn device() -> (wgpu::Device, wgpu::Queue) {
        let state = egui_kittest::wgpu::create_render_state(
            egui_kittest::wgpu::default_wgpu_setup(),
            egui_wgpu::RendererOptions::PREDICTABLE,
        );
        (state.device, state.queue)
    }

    /// Draws `picture` into a `width` x `height` RGBA target and reads it back.
    fn render(
        gpu: &(wgpu::Device, wgpu::Queue),
        picture: &Picture,
        geometry: DisplayGeometry,
        size: (u32, u32),
    ) -> Vec<u8> {
        render_with(gpu, picture, geometry, size, false)
    }

    /// [`render`] with the fast scalers or not.
    fn render_with(
        gpu: &(wgpu::Device, wgpu::Queue),
        picture: &Picture,
        geometry: DisplayGeometry,
        (width, height): (u32, u32),
        fast_scalers: bool,
    ) -> Vec<u8> {
        let (device, queue) = gpu;
        let format = wgpu::TextureFormat::Rgba8Unorm;
        let mut renderer = VideoRenderer::new(device, format, fast_scalers);
        renderer.prepare(
            device,
            queue,
            picture,
            1,
            Params::new(picture, geometry, None, HDR_PEAK_NITS),
            Target::Picture,
        );
        let target = device.create_texture(&wgpu::TextureDescriptor {
            label: None,
            size: wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = target.create_view(&wgpu::TextureViewDescriptor::default());
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        {
            let mut pass = encoder
                .begin_render_pass(&wgpu::RenderPassDescriptor {
                    color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                        view: &view,
                        resolve_target: None,
                        ops: wgpu::Operations {
                            load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                            store: wgpu::StoreOp::Store,
                        },
                        depth_slice: None,
                    })],
                    ..Default::default()
                })
                .forget_lifetime();
            renderer.paint(&mut pass, Target::Picture);
        }
        let padded_row = (4 * width).div_ceil(256) * 256;
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: u64::from(padded_row * height),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.copy_texture_to_buffer(
            target.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded_row),
                    rows_per_image: None,
                },
            },
            wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
        );
        let submission = queue.submit([encoder.finish()]);
        let (sender, receiver) = std::sync::mpsc::channel();
        buffer.slice(..).map_async(wgpu::MapMode::Read, move |result| drop(sender.send(result)));
        device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(submission),
                timeout: Some(std::time::Duration::from_secs(30)),
            })
            .expect("the GPU finishes");
        receiver.recv().unwrap().expect("the buffer maps");
        let data = buffer.slice(..).get_mapped_range().expect("mapped");
        data.chunks_exact(padded_row as usize).flat_map(|row| row[..4 * width as usize].iter().copied()).collect()
    }

    /// A smooth, varied `width` x `height` 4:2:0 frame of `format` (8 or 10 bits) with the
    /// stream's `space` and `range`.
    fn frame(
        format: Pixel,
        width: u32,
        height: u32,
        space: color::Space,
        range: color::Range,
    ) -> ffmpeg_next::frame::Video {
        crate::media::init_ffmpeg();
        let mut frame = ffmpeg_next::frame::Video::new(format, width, height);
        let max = if format == Pixel::YUV420P { 255.0 } else { 1023.0 };
        for plane in 0..3 {
            let (w, h, stride) =
                (frame.plane_width(plane) as usize, frame.plane_height(plane) as usize, frame.stride(plane));
            let data = frame.data_mut(plane);
            for y in 0..h {
                for x in 0..w {
                    let wave =
                        0.5 + 0.4 * ((x as f64 * 0.37 + plane as f64).sin() * (y as f64 * 0.23 - plane as f64).cos());
                    let code = (wave * max).round() as u16;
                    if max > 255.0 {
                        data[y * stride + 2 * x..y * stride + 2 * x + 2].copy_from_slice(&code.to_le_bytes());
                    } else {
                        data[y * stride + x] = code as u8;
                    }
                }
            }
        }
        frame.set_color_space(space);
        frame.set_color_range(range);
        frame
    }

    /// A network-like x2 luma for a `width` x `height` frame.
    fn luma_x2(width: u32, height: u32) -> LumaImage {
        let (w, h) = (2 * width as usize, 2 * height as usize);
        let values: Vec<f32> = (0..w * h)
            .map(|i| (0.5 + 0.45 * ((i % w) as f32 * 0.11).sin() * ((i / w) as f32 * 0.07).cos()).clamp(0.0, 1.0))
            .collect();
        LumaImage::quantise(&values, w, h, &BufferPool::default())
    }

    /// The CPU colour path on the same planes and luma.
    fn cpu_rgba(frame: &ffmpeg_next::frame::Video, luma: &LumaImage) -> Vec<u8> {
        let layout = PlaneLayout::of(frame.format()).unwrap();
        let spec = ColourSpec::of_frame(frame, layout.bits);
        let (w, h) = (luma.width as usize, luma.height as usize);
        let values: Vec<f32> = (0..w * h).map(|i| luma.get(i % w, i / w)).collect();
        let (cw, ch) = layout.chroma_size(frame.width(), frame.height());
        let chroma = [1, 2]
            .map(|index| SamplePlane::of_frame(frame, index, cw as usize, ch as usize, layout.bytes_per_sample()));
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let mut rgba = vec![0; 4 * w * h];
        YuvToRgba::default().convert(
            &pool,
            &values,
            (w, h),
            chroma,
            (2, 2),
            2,
            Siting::of(frame.chroma_location()),
            spec,
            &mut rgba,
        );
        rgba
    }

    fn worst_difference(a: &[u8], b: &[u8]) -> u8 {
        assert_eq!(a.len(), b.len());
        a.chunks_exact(4)
            .zip(b.chunks_exact(4))
            .flat_map(|(p, q)| (0..3).map(move |c| p[c].abs_diff(q[c])))
            .max()
            .unwrap()
    }

    /// The shader's picture (the network's luma at its own size, chroma from the planes) matches
    /// the CPU colour path within 2 code values: 8 and 10 bits, each matrix, both ranges.
    #[test]
    fn the_shader_matches_the_cpu_colour_path() {
        let gpu = device();
        let (width, height) = (38, 22);
        for format in [Pixel::YUV420P, Pixel::YUV420P10LE] {
            for space in [color::Space::SMPTE170M, color::Space::BT709, color::Space::BT2020NCL] {
                for range in [color::Range::MPEG, color::Range::JPEG] {
                    let frame = frame(format, width, height, space, range);
                    let luma = luma_x2(width, height);
                    let expected = cpu_rgba(&frame, &luma);
                    let picture = Picture { pts_secs: 0.0, duration_secs: 0.04, frame, upscaled: Upscaled::Luma(luma) };
                    let got = render(&gpu, &picture, DisplayGeometry::default(), (2 * width, 2 * height));
                    let worst = worst_difference(&got, &expected);
                    assert!(worst <= 2, "{format:?} {space:?} {range:?}: off by {worst}");
                }
            }
        }
    }

    /// The window's GPU path: the ladder's output stays on the device and the shader samples it
    /// there. Drawn, it is the picture the CPU kernels' luma gives (within 2 code values, 8 and 10
    /// bits, limited and full range), and neither the runner nor its texture pool has read anything back.
    #[test]
    fn the_ladder_on_the_windows_device_is_drawn_without_a_read_back() {
        use crate::engine::Upscaler;
        use crate::engine::cpu::{PackedNetwork, kernels::Isa, network::NetworkRunner};
        use crate::engine::gpu::{GpuRunner, TexturePool};
        use crate::engine::neural::NeuralUpscaler;
        use crate::model::manifest::{Manifest, default_manifest_path};

        let gpu = crate::model::device::GpuContext::shared().expect("a wgpu adapter");
        let pair = (gpu.device.clone(), gpu.queue.clone());
        let model = Manifest::load_with_weights(&default_manifest_path(), &burn::prelude::Device::flex()).unwrap();
        let rungs: Vec<_> = model.manifest.ladder.iter().map(|rung| rung.spec).collect();
        let pool = TexturePool::default();
        let mut runner = GpuRunner::new(&gpu.device, &gpu.queue, &model.supernet, &rungs, 2, gpu.name.clone());
        runner.keep_on_device(pool.clone());
        let mut on_device = NeuralUpscaler::new(runner, "r2");
        let network = std::sync::Arc::new(PackedNetwork::from_supernet(&model.supernet, rungs[2], Isa::detect()));
        let mut on_cpu = NeuralUpscaler::new(NetworkRunner::new(network, 2), "r2");
        let (width, height) = (38, 22);
        for (format, range) in [
            (Pixel::YUV420P, color::Range::MPEG),
            (Pixel::YUV420P10LE, color::Range::MPEG),
            (Pixel::YUV420P, color::Range::JPEG),
        ] {
            let frame = frame(format, width, height, color::Space::BT709, range);
            let device_luma = on_device.upscale_luma(&frame).unwrap().expect("the rung ran");
            assert!(matches!(device_luma.samples, LumaSamples::Device(_)), "{format:?}: left on the device");
            let host_luma = on_cpu.upscale_luma(&frame).unwrap().expect("the rung ran");
            let draw = |luma| {
                render(
                    &pair,
                    &Picture {
                        pts_secs: 0.0,
                        duration_secs: 0.04,
                        frame: frame.clone(),
                        upscaled: Upscaled::Luma(luma),
                    },
                    DisplayGeometry::default(),
                    (2 * width, 2 * height),
                )
            };
            let worst = worst_difference(&draw(device_luma), &draw(host_luma));
            assert!(worst <= 2, "{format:?}: off by {worst}");
        }
        assert_eq!(
            (on_device.engine().read_backs(), pool.read_backs()),
            (0, 0),
            "nothing read back on the window's path"
        );
    }

    /// Semi-planar NV12 shows as the same picture as planar 4:2:0 with the same samples.
    #[test]
    fn semi_planar_chroma_reads_like_planar() {
        use ffmpeg_next::software::scaling::{Context, Flags};
        let gpu = device();
        let planar = frame(Pixel::YUV420P, 40, 24, color::Space::BT709, color::Range::MPEG);
        let mut nv12 = ffmpeg_next::frame::Video::empty();
        Context::get(Pixel::YUV420P, 40, 24, Pixel::NV12, 40, 24, Flags::POINT)
            .unwrap()
            .run(&planar, &mut nv12)
            .unwrap();
        nv12.set_color_space(color::Space::BT709);
        nv12.set_color_range(color::Range::MPEG);
        let show = |frame| {
            render(
                &gpu,
                &Picture { pts_secs: 0.0, duration_secs: 0.04, frame, upscaled: Upscaled::None },
                DisplayGeometry::default(),
                (80, 48),
            )
        };
        let worst = worst_difference(&show(planar), &show(nv12));
        assert!(worst <= 1, "off by {worst}");
    }

    /// A frame white on its left half, turned clockwise, is white on its top half.
    #[test]
    fn a_rotated_frame_is_shown_turned() {
        let gpu = device();
        let mut frame = frame(Pixel::YUV420P, 64, 32, color::Space::BT709, color::Range::MPEG);
        for y in 0..32 {
            let stride = frame.stride(0);
            for x in 0..64 {
                frame.data_mut(0)[y * stride + x] = if x < 32 { 235 } else { 16 };
            }
        }
        for plane in [1, 2] {
            frame.data_mut(plane).fill(128);
        }
        let picture = Picture { pts_secs: 0.0, duration_secs: 0.04, frame, upscaled: Upscaled::None };
        let turned = DisplayGeometry::new(-90.0, false, 1.0);
        assert_eq!(turned.displayed_pixels(64, 32), (32, 64));
        let rgba = render(&gpu, &picture, turned, (32, 64));
        let pixel = |x: usize, y: usize| rgba[4 * (y * 32 + x)];
        assert_eq!((pixel(16, 8), pixel(16, 56)), (255, 0), "white above, black below");
    }

    #[test]
    fn wide_pictures_get_bars_above_and_below() {
        let area = Rect::from_min_size(egui::pos2(0.0, 0.0), vec2(1000.0, 1000.0));
        let rect = letterbox(area, vec2(1280.0, 720.0));
        assert_eq!(rect.width(), 1000.0);
        assert!((rect.height() - 562.5).abs() < 1e-3);
        assert!((rect.center().y - 500.0).abs() < 1e-3);
    }

    #[test]
    fn tall_pictures_get_bars_left_and_right() {
        let area = Rect::from_min_size(egui::pos2(0.0, 0.0), vec2(1600.0, 900.0));
        let rect = letterbox(area, vec2(360.0, 640.0));
        assert_eq!(rect.height(), 900.0);
        assert!((rect.width() - 506.25).abs() < 1e-3);
    }

    #[test]
    fn subtitles_stay_upright_on_a_turned_picture() {
        let picture = Rect::from_min_size(egui::pos2(100.0, 0.0), vec2(450.0, 800.0));
        assert_eq!(subtitle_canvas(picture, DisplayGeometry::new(180.0, false, 1.0)), picture);
        // A 16:9 canvas on a 9:16 picture: full width, 16:9, at the bottom.
        let canvas = subtitle_canvas(picture, DisplayGeometry::new(-90.0, false, 1.0));
        assert_eq!((canvas.min.x, canvas.width()), (100.0, 450.0));
        assert!((canvas.height() - 253.125).abs() < 1e-3 && canvas.max.y == 800.0, "{canvas:?}");
        assert_eq!(subtitle_canvas(picture, DisplayGeometry::new(90.0, false, 1.0)), canvas);
    }

    /// PQ at the 203-nit reference white (10-bit code 576) is grey at 0.875 of SDR white after the
    /// knee curve, 241 in BT.1886 code values; PQ black stays black.
    #[test]
    fn hdr_is_tone_mapped_to_sdr() {
        let gpu = device();
        let mut frame = frame(Pixel::YUV420P10LE, 16, 16, color::Space::BT2020NCL, color::Range::MPEG);
        frame.set_color_transfer_characteristic(color::TransferCharacteristic::SMPTE2084);
        let fill = |frame: &mut ffmpeg_next::frame::Video, plane: usize, code: u16| {
            for pair in frame.data_mut(plane).chunks_exact_mut(2) {
                pair.copy_from_slice(&code.to_le_bytes());
            }
        };
        fill(&mut frame, 1, 512);
        fill(&mut frame, 2, 512);
        for (luma, expected) in [(576, 241), (64, 0)] {
            fill(&mut frame, 0, luma);
            let picture =
                Picture { pts_secs: 0.0, duration_secs: 0.04, frame: frame.clone(), upscaled: Upscaled::None };
            let rgba = render(&gpu, &picture, DisplayGeometry::default(), (16, 16));
            let pixel = &rgba[4 * (8 * 16 + 8)..][..3];
            assert!(pixel.iter().all(|&c| c.abs_diff(expected) <= 3), "code {luma}: {pixel:?}, expected {expected}");
        }
    }

    /// A 10-bit frame scaled by a non-integer factor shows the same picture as its 8-bit version,
    /// with either set of scalers: two-byte samples are never left to the sampler's rounding.
    #[test]
    fn ten_bit_planes_scale_like_eight_bit_ones() {
        let (device, queue) = device();
        let ten_bit = frame(Pixel::YUV420P10LE, 38, 22, color::Space::BT709, color::Range::MPEG);
        let mut eight_bit = frame(Pixel::YUV420P, 38, 22, color::Space::BT709, color::Range::MPEG);
        for plane in 0..3 {
            let (w, h) = (ten_bit.plane_width(plane) as usize, ten_bit.plane_height(plane) as usize);
            let (stride_10, stride_8) = (ten_bit.stride(plane), eight_bit.stride(plane));
            for y in 0..h {
                for x in 0..w {
                    let code = u16::from_le_bytes([
                        ten_bit.data(plane)[y * stride_10 + 2 * x],
                        ten_bit.data(plane)[y * stride_10 + 2 * x + 1],
                    ]);
                    eight_bit.data_mut(plane)[y * stride_8 + x] = (code / 4) as u8;
                }
            }
        }
        // Make the 10-bit samples exactly four times the 8-bit ones, so the pictures are equal.
        let mut ten_bit = ten_bit;
        for plane in 0..3 {
            let (w, h) = (ten_bit.plane_width(plane) as usize, ten_bit.plane_height(plane) as usize);
            let (stride_10, stride_8) = (ten_bit.stride(plane), eight_bit.stride(plane));
            for y in 0..h {
                for x in 0..w {
                    let code = u16::from(eight_bit.data(plane)[y * stride_8 + x]) * 4;
                    ten_bit.data_mut(plane)[y * stride_10 + 2 * x..y * stride_10 + 2 * x + 2]
                        .copy_from_slice(&code.to_le_bytes());
                }
            }
        }
        for fast_scalers in [false, true] {
            let show = |frame: &ffmpeg_next::frame::Video| {
                let picture =
                    Picture { pts_secs: 0.0, duration_secs: 0.04, frame: frame.clone(), upscaled: Upscaled::None };
                render_with(
                    &(device.clone(), queue.clone()),
                    &picture,
                    DisplayGeometry::default(),
                    (57, 33),
                    fast_scalers,
                )
            };
            let worst = worst_difference(&show(&ten_bit), &show(&eight_bit));
            // The fast path leaves 8-bit samples to the sampler, which may round them (a code or so).
            assert!(worst <= if fast_scalers { 4 } else { 2 }, "fast scalers {fast_scalers}: off by {worst}");
        }
    }
}
