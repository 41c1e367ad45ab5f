//! The whole ladder on one wgpu device: the supernet's weights uploaded once, three compute
//! pipelines (`ladder.wgsl`), and for the prepared frame size the feature maps and one layer record
//! per (rung, tile, layer), so a frame at any rung is a run of dispatches over records written at
//! preparation: a switch between two frames allocates and uploads nothing.

use eframe::wgpu;
use eframe::wgpu::util::DeviceExt;

use crate::engine::colour::NetworkLuma;
use crate::engine::tiles::{Tile, plan, tile_size};
use crate::model::supernet::{ElasticConv, PHASES, SubgraphSpec, Supernet};

/// Pixels per workgroup side of the head (`@workgroup_size(16, 16, 1)` in the shader).
const GROUP: u32 = 16;
/// The patch of pixels a workgroup of the body and the tail computes (`PATCH_W`, `PATCH_H`).
const PATCH: (u32, u32) = (32, 8);
/// Output channels per invocation (one vec4).
const BLOCK: usize = 4;

/// One layer's record, as `Layer` in `ladder.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct LayerRecord {
    width: u32,
    height: u32,
    origin_x: u32,
    origin_y: u32,
    in_channels: u32,
    out_channels: u32,
    weight_stride: u32,
    weight_offset: u32,
    bias_offset: u32,
    owned_start_x: u32,
    owned_end_x: u32,
    owned_start_y: u32,
    owned_end_y: u32,
    padding: [u32; 3],
}

/// The frame's luma plane as the shader reads it, as `Input` in `ladder.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct InputRecord {
    kind: u32,
    scale: f32,
    width: u32,
    height: u32,
    offset: f32,
    gain: f32,
    low: f32,
    high: f32,
}

/// How a luma texture holds its samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LumaTexels {
    /// Floats in [0, 1] (an `R32Float` upload).
    Float,
    /// 8-bit codes in an 8-bit unorm channel, mapped to the network by `network`.
    Code8 { network: NetworkLuma },
    /// 16-bit codes, low byte in r and high byte in g (the window's planes of deep video).
    Code16 { network: NetworkLuma },
}

impl LumaTexels {
    fn record(self, (width, height): (u32, u32)) -> InputRecord {
        let (kind, network) = match self {
            LumaTexels::Float => (0, NetworkLuma::IDENTITY),
            LumaTexels::Code8 { network } => (1, network),
            LumaTexels::Code16 { network } => (2, network),
        };
        let NetworkLuma { scale, offset, low, high, gain } = network;
        InputRecord { kind, scale, width, height, offset, gain, low, high }
    }
}

/// Where one convolution's weights start in the weight and bias buffers (in vec4s).
#[derive(Debug, Clone, Copy)]
struct Slot {
    weights: u32,
    biases: u32,
    /// Input channels of the supernet's tensor.
    stride: u32,
}

/// The buffers and records of one frame size.
struct Frame {
    size: (usize, usize),
    /// Every tile's size.
    tile: (usize, usize),
    tiles: Vec<Tile>,
    /// The first record of each rung; a rung's records run tile by tile, layer by layer.
    first_record: Vec<u32>,
    records: wgpu::Buffer,
    record_stride: u32,
    features: [wgpu::Buffer; 2],
    /// `[in A, out B]` and `[in B, out A]`.
    groups: [wgpu::BindGroup; 2],
}

/// The texture a frame's luma is read from, the texture its x2 luma is written into, bound together.
pub struct FrameIo {
    group: wgpu::BindGroup,
    size: (usize, usize),
}

pub struct GpuLadder {
    device: wgpu::Device,
    queue: wgpu::Queue,
    rungs: Vec<SubgraphSpec>,
    /// The deepest and widest rung: what the feature maps and the tiles' halo are sized for.
    capacity: SubgraphSpec,
    weights: wgpu::Buffer,
    biases: wgpu::Buffer,
    head: Slot,
    body: Vec<Slot>,
    tail: Slot,
    layer_layout: wgpu::BindGroupLayout,
    io_layout: wgpu::BindGroupLayout,
    pipelines: [wgpu::ComputePipeline; 3],
    tile_limit: Option<(usize, usize)>,
    frame: Option<Frame>,
}

/// The first `outputs` x `inputs` of `conv`'s weights `[out, in, 3, 3]` as `[out / 4][in][tap]`
/// vec4s, and their biases as vec4s.
fn pack(conv: &ElasticConv, inputs: usize, outputs: usize) -> (Vec<f32>, Vec<f32>) {
    let (weight, bias) = conv.slice(inputs, outputs);
    let weights: Vec<f32> = weight.into_data().try_to_vec().expect("f32 weights");
    let biases: Vec<f32> = bias.into_data().try_to_vec().expect("f32 biases");
    assert_eq!(outputs % BLOCK, 0, "output channels in blocks of {BLOCK}");
    assert!(
        outputs == PHASES || outputs.is_multiple_of(2 * BLOCK),
        "feature channels in pairs of blocks (the body's invocations take two)"
    );
    let mut packed = Vec::with_capacity(weights.len());
    for block in 0..outputs / BLOCK {
        for input in 0..inputs {
            for tap in 0..9 {
                packed.extend((0..BLOCK).map(|lane| weights[((block * BLOCK + lane) * inputs + input) * 9 + tap]));
            }
        }
    }
    (packed, biases)
}

impl GpuLadder {
    /// Uploads the weights `rungs` (the ladder, cheapest first) use of `supernet`, once, and makes
    /// the pipelines.
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue, supernet: &Supernet, rungs: &[SubgraphSpec]) -> Self {
        assert!(!rungs.is_empty(), "a ladder has rungs");
        let capacity = SubgraphSpec {
            depth: rungs.iter().map(|spec| spec.depth).max().unwrap_or(0),
            width: rungs.iter().map(|spec| spec.width).max().unwrap_or(0),
        };
        // The slice of the supernet the widest and deepest rung uses: every rung is a slice of it.
        let (mut weights, mut biases) = (Vec::new(), Vec::new());
        let mut add = |conv: &ElasticConv, inputs: usize, outputs: usize| {
            let (packed, bias) = pack(conv, inputs, outputs);
            let slot = Slot {
                weights: (weights.len() / BLOCK) as u32,
                biases: (biases.len() / BLOCK) as u32,
                stride: inputs as u32,
            };
            weights.extend(packed);
            biases.extend(bias);
            slot
        };
        let head = add(&supernet.head, 1, capacity.width);
        let body =
            supernet.body[..capacity.depth].iter().map(|layer| add(layer, capacity.width, capacity.width)).collect();
        let tail = add(&supernet.tail, capacity.width, PHASES);
        let storage = |label, contents: &[f32]| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(contents),
                usage: wgpu::BufferUsages::STORAGE,
            })
        };
        let (weights, biases) = (storage("dysr ladder weights", &weights), storage("dysr ladder biases", &biases));

        let entry = |binding, ty| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty,
            count: None,
        };
        let storage_entry = |binding, read_only| {
            entry(
                binding,
                wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage { read_only },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
            )
        };
        let layer_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("dysr ladder layer"),
            entries: &[
                entry(
                    0,
                    wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: true,
                        min_binding_size: wgpu::BufferSize::new(size_of::<LayerRecord>() as u64),
                    },
                ),
                storage_entry(1, true),
                storage_entry(2, true),
                storage_entry(3, true),
                storage_entry(4, false),
            ],
        });
        let io_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("dysr ladder frame"),
            entries: &[
                entry(
                    0,
                    wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: false },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                ),
                entry(
                    1,
                    wgpu::BindingType::StorageTexture {
                        access: wgpu::StorageTextureAccess::WriteOnly,
                        format: wgpu::TextureFormat::Rgba8Unorm,
                        view_dimension: wgpu::TextureViewDimension::D2,
                    },
                ),
                entry(
                    2,
                    wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                ),
            ],
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("dysr ladder"),
            source: wgpu::ShaderSource::Wgsl(include_str!("ladder.wgsl").into()),
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("dysr ladder"),
            bind_group_layouts: &[Some(&layer_layout), Some(&io_layout)],
            immediate_size: 0,
        });
        let pipelines = ["head", "body", "tail"].map(|entry_point| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry_point),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(entry_point),
                compilation_options: Default::default(),
                cache: None,
            })
        });
        Self {
            device: device.clone(),
            queue: queue.clone(),
            rungs: rungs.to_vec(),
            capacity,
            weights,
            biases,
            head,
            body,
            tail,
            layer_layout,
            io_layout,
            pipelines,
            tile_limit: None,
            frame: None,
        }
    }

    pub fn rungs(&self) -> &[SubgraphSpec] {
        &self.rungs
    }

    /// Runs frames in tiles of at most `width` x `height` (instead of the buffer limit's).
    pub fn set_tile_limit(&mut self, limit: Option<(usize, usize)>) {
        self.tile_limit = limit;
        self.frame = None;
    }

    /// Bytes of the weights on the device (every rung's: they are one set).
    pub fn weight_bytes(&self) -> u64 {
        self.weights.size() + self.biases.size()
    }

    /// Bytes of the prepared frame size's feature maps and layer records.
    pub fn frame_bytes(&self) -> u64 {
        self.frame
            .as_ref()
            .map_or(0, |frame| frame.features.iter().map(wgpu::Buffer::size).sum::<u64>() + frame.records.size())
    }

    /// The tiles the prepared frame size runs in.
    pub fn tiles(&self) -> usize {
        self.frame.as_ref().map_or(0, |frame| frame.tiles.len())
    }

    /// Sizes the feature maps and writes the layer records for `width` x `height` frames (a no-op
    /// when they already are).
    pub fn prepare(&mut self, width: usize, height: usize) {
        if self.frame.as_ref().is_some_and(|frame| frame.size == (width, height)) {
            return;
        }
        let halo = self.capacity.depth + 2;
        let tile = tile_size((width, height), self.capacity.width.max(PHASES), halo, self.tile_limit);
        let tiles = plan((width, height), tile, halo);
        let record_stride =
            self.device.limits().min_uniform_buffer_offset_alignment.max(size_of::<LayerRecord>() as u32);
        let mut records = Vec::new();
        let mut first_record = Vec::new();
        for spec in &self.rungs {
            first_record.push(records.len() as u32);
            for tile_at in &tiles {
                let base = LayerRecord {
                    width: tile.0 as u32,
                    height: tile.1 as u32,
                    origin_x: tile_at.x as u32,
                    origin_y: tile_at.y as u32,
                    owned_start_x: (tile_at.owned_x.start - tile_at.x) as u32,
                    owned_end_x: (tile_at.owned_x.end - tile_at.x) as u32,
                    owned_start_y: (tile_at.owned_y.start - tile_at.y) as u32,
                    owned_end_y: (tile_at.owned_y.end - tile_at.y) as u32,
                    ..Default::default()
                };
                let layer = |slot: Slot, in_channels: usize, out_channels: usize| LayerRecord {
                    in_channels: in_channels as u32,
                    out_channels: out_channels as u32,
                    weight_stride: slot.stride,
                    weight_offset: slot.weights,
                    bias_offset: slot.biases,
                    ..base
                };
                records.push(layer(self.head, 1, spec.width));
                records.extend(self.body[..spec.depth].iter().map(|slot| layer(*slot, spec.width, spec.width)));
                records.push(layer(self.tail, spec.width, PHASES));
            }
        }
        let mut bytes = vec![0u8; records.len() * record_stride as usize];
        for (index, record) in records.iter().enumerate() {
            bytes[index * record_stride as usize..][..size_of::<LayerRecord>()]
                .copy_from_slice(bytemuck::bytes_of(record));
        }
        let records = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("dysr ladder records"),
            contents: &bytes,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let feature_bytes = (4 * self.capacity.width.max(PHASES) * tile.0 * tile.1) as u64;
        let features = [0, 1].map(|_| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("dysr ladder features"),
                size: feature_bytes,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        });
        let group = |input: &wgpu::Buffer, output: &wgpu::Buffer| {
            self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("dysr ladder layer"),
                layout: &self.layer_layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: &records,
                            offset: 0,
                            size: wgpu::BufferSize::new(size_of::<LayerRecord>() as u64),
                        }),
                    },
                    wgpu::BindGroupEntry { binding: 1, resource: self.weights.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 2, resource: self.biases.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 3, resource: input.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 4, resource: output.as_entire_binding() },
                ],
            })
        };
        let groups = [group(&features[0], &features[1]), group(&features[1], &features[0])];
        self.frame =
            Some(Frame { size: (width, height), tile, tiles, first_record, records, record_stride, features, groups });
    }

    /// Binds the luma texture of `width` x `height` frames (`texels` says how it holds them) and the
    /// `Rgba8Unorm` storage texture of twice the size their x2 luma is written into, as 16-bit codes
    /// in r (low byte) and g (high byte).
    pub fn bind_frame(
        &self,
        luma: &wgpu::TextureView,
        texels: LumaTexels,
        upscaled: &wgpu::TextureView,
        (width, height): (usize, usize),
    ) -> FrameIo {
        let input = texels.record((width as u32, height as u32));
        let input = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("dysr ladder input"),
            contents: bytemuck::bytes_of(&input),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("dysr ladder frame"),
            layout: &self.io_layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: wgpu::BindingResource::TextureView(luma) },
                wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::TextureView(upscaled) },
                wgpu::BindGroupEntry { binding: 2, resource: input.as_entire_binding() },
            ],
        });
        FrameIo { group, size: (width, height) }
    }

    /// Records rung `rung` on the frame bound in `io` into `encoder` (after [`GpuLadder::prepare`]
    /// for its size).
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder, rung: usize, io: &FrameIo) {
        let frame = self.frame.as_ref().expect("prepared before encoding");
        assert_eq!(frame.size, io.size, "the frame's textures are for the prepared size");
        let spec = self.rungs[rung];
        let [head, body, tail] = &self.pipelines;
        let layers = spec.depth as u32 + 2;
        let mut pass = encoder
            .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("dysr ladder"), timestamp_writes: None });
        pass.set_bind_group(1, &io.group, &[]);
        let (groups_x, groups_y) = ((frame.tile.0 as u32).div_ceil(GROUP), (frame.tile.1 as u32).div_ceil(GROUP));
        let blocks = (spec.width / BLOCK) as u32;
        // The body's and the tail's workgroups take a patch each, the body's two blocks of it.
        let patches = ((frame.tile.0 as u32).div_ceil(PATCH.0), (frame.tile.1 as u32).div_ceil(PATCH.1));
        for index in 0..frame.tiles.len() as u32 {
            let first = frame.first_record[rung] + index * layers;
            let offset = |layer: u32| [(first + layer) * frame.record_stride];
            // The head writes A; each body layer reads what the last wrote; the tail reads the last.
            pass.set_pipeline(head);
            pass.set_bind_group(0, &frame.groups[1], &offset(0));
            pass.dispatch_workgroups(groups_x, groups_y, blocks);
            let mut output_is_a = true;
            pass.set_pipeline(body);
            for layer in 1..=spec.depth as u32 {
                pass.set_bind_group(0, &frame.groups[if output_is_a { 0 } else { 1 }], &offset(layer));
                pass.dispatch_workgroups(patches.0, patches.1, blocks / 2);
                output_is_a = !output_is_a;
            }
            pass.set_pipeline(tail);
            pass.set_bind_group(0, &frame.groups[if output_is_a { 0 } else { 1 }], &offset(layers - 1));
            pass.dispatch_workgroups(patches.0, patches.1, 1);
        }
    }

    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }
}
