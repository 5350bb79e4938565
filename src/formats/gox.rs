//! Goxel's project format (`.gox`), read and written, so that voxeld opens what Goxel saves and
//! Goxel opens what voxeld saves.
//!
//! The layout is written down byte by byte in `docs/gox-format.md`. In short: an 8-byte header
//! (`"GOX "`, version 2), then chunks back to back (type, length, data, a CRC field that is
//! always 0). Every distinct 16³ block is one `BL16` chunk holding a 64×64 RGBA PNG whose pixels
//! are the block's voxels in x-fastest order, which is exactly voxeld's chunk layout: a block on
//! the 16-voxel grid becomes one shared chunk without its voxels being copied. A `LAYR` chunk
//! lists one layer's blocks as (block index, origin) records, followed by a small dictionary
//! (name, id, visibility, …). `IMG `, `MATE`, `CAMR` and `LIGH` carry the image box, materials,
//! cameras and light as dictionaries.
//!
//! Reading treats the file as hostile: every length is checked against the bytes that remain
//! before anything is allocated for it, each PNG must declare 64×64 before it is decoded, and a
//! malformed file gives a [`FormatError`] naming the chunk and the byte offset. A file cut
//! exactly between two chunks is read as the smaller file it then is (Goxel does the same); a
//! cut anywhere else is an error.
//!
//! Writing follows Goxel's own writer: chunk order `IMG `, `BL16`…, `MATE`, `LAYR`…, `CAMR`,
//! `LIGH`; keys in Goxel's order; CRC fields 0; no dictionary terminator; no value over 255
//! bytes. The same world always gives the same bytes.
//!
//! ```
//! use glam::IVec3;
//! use systems::{Color, CommandBuffer, Edit, Source, VoxelWorld, WorldSettings};
//! use voxeld::formats::gox;
//!
//! let mut world = VoxelWorld::new(WorldSettings::default());
//! let mut buffer = CommandBuffer::new(Source::Rpc);
//! buffer.push(Edit::Set { pos: IVec3::new(-2, 5, 1), color: Color::rgba(250, 250, 0, 128) });
//! world.apply(buffer).result.unwrap();
//! let file = gox::encode(&world.snapshot()).unwrap();
//! assert_eq!(&file.bytes[..4], b"GOX ");
//! let doc = gox::decode(&file.bytes).unwrap();
//! assert_eq!(doc.voxel_count(), 1);
//! let back = doc.to_world().unwrap().snapshot();
//! assert_eq!(back.hash_hex(), world.snapshot().hash_hex());
//! ```

use std::io::Cursor;
use std::sync::Arc;

use glam::IVec3;
use rustc_hash::{FxHashMap, FxHashSet};
use systems::coords::{local_index, split, zyx_key};
use systems::{CHUNK_SIZE, CHUNK_VOLUME, ChunkData, Color, LayerSnapshot, WorldSnapshot};

use super::{DocLayer, Document, EncodeReport, Encoded, FormatError};

/// The four bytes every `.gox` file starts with (note the trailing space).
pub const MAGIC: [u8; 4] = *b"GOX ";

/// The version voxeld writes, and the newest it reads.
pub const VERSION: i32 = 2;

/// Edge of a block's PNG, in pixels (64 × 64 pixels = 16³ voxels).
const PNG_EDGE: u32 = 64;

/// Bytes of one decoded block: 4096 voxels × RGBA.
const BLOCK_BYTES: usize = CHUNK_VOLUME * 4;

/// Goxel reads dictionary values into 256-byte buffers: the longest value a writer may produce.
const MAX_VALUE: usize = 255;

/// Reads a `.gox` file: its layers, bottom first, with their voxels, names, ids and visibility.
///
/// Clone layers take the voxels of their base layer (moved by the clone's transform when that is
/// a whole-voxel translation); shape and image layers come out empty. Materials, cameras, the
/// light and the image box are checked for shape and otherwise ignored.
pub fn decode(bytes: &[u8]) -> Result<Document, FormatError> {
    if bytes.len() < 8 {
        return Err(FormatError::new(format!(
            "not a gox file: {} bytes, shorter than the 8-byte header",
            bytes.len()
        )));
    }
    if bytes[..4] != MAGIC {
        return Err(FormatError::new(format!(
            "not a gox file: it starts with \"{}\", not \"GOX \"",
            bytes[..4].escape_ascii()
        )));
    }
    let version = i32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if version > VERSION {
        return Err(FormatError::new(format!(
            "gox version {version} is newer than this reader (it reads versions up to {VERSION})"
        )));
    }
    let mut reader = FileReader {
        version,
        budget: Budget::for_file(bytes.len()),
        blocks: Vec::new(),
        layers: Vec::new(),
    };
    let mut offset = 8;
    while offset < bytes.len() {
        let chunk = next_chunk(bytes, offset)?;
        reader
            .read_chunk(&chunk)
            .map_err(|reason| FormatError::new(format!("{}: {reason}", chunk.describe())))?;
        offset = chunk.end;
    }
    reader.finish()
}

/// Writes every layer of `world`, in stacking order (bottom first), as Goxel would.
pub fn encode(world: &WorldSnapshot) -> Result<Encoded, FormatError> {
    let mut layers: Vec<&LayerSnapshot> = world.layers().collect();
    layers.sort_by_key(|l| (l.order, l.id));

    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());

    let image_box = layers.iter().fold(None, |acc, l| {
        systems::coords::union_opt(acc, l.bounding_box())
    });
    let (half, centre) = match image_box {
        Some(b) => {
            let lo = b.min.as_dvec3();
            let hi = b.max.as_dvec3() + 1.0;
            ((hi - lo) / 2.0, (hi + lo) / 2.0)
        }
        None => (glam::DVec3::splat(16.0), glam::DVec3::new(0.0, 0.0, 16.0)),
    };
    let mut chunk = ChunkWriter::begin(&mut out, *b"IMG ");
    chunk.entry("box", &mat_bytes(&box_mat(half, centre)));
    chunk.end()?;

    // Blocks: each distinct chunk once, numbered in the order first met (layers bottom first,
    // chunks z, y, x), which is deterministic.
    let mut blocks = Blocks::default();
    let mut tables: Vec<Vec<(u32, IVec3)>> = Vec::with_capacity(layers.len());
    let mut pixels = vec![0u8; BLOCK_BYTES];
    for layer in &layers {
        let mut table = Vec::with_capacity(layer.chunk_count() as usize);
        for (pos, data) in layer.chunks_sorted() {
            if data.is_empty() {
                continue;
            }
            let index = match blocks.find(data) {
                Some(index) => index,
                None => {
                    let index = blocks.insert(data);
                    let mut chunk = ChunkWriter::begin(&mut out, *b"BL16");
                    write_block_png(chunk.data(), data, &mut pixels)?;
                    chunk.end()?;
                    index
                }
            };
            table.push((index, pos * CHUNK_SIZE));
        }
        tables.push(table);
    }

    let mut chunk = ChunkWriter::begin(&mut out, *b"MATE");
    chunk.entry("name", b"Material.1");
    chunk.entry("color", &floats(&[1.0, 1.0, 1.0, 1.0]));
    chunk.entry("metallic", &0.2f32.to_le_bytes());
    chunk.entry("roughness", &0.5f32.to_le_bytes());
    chunk.entry("emission", &floats(&[0.0, 0.0, 0.0]));
    chunk.end()?;

    for (layer, table) in layers.iter().zip(&tables) {
        let mut chunk = ChunkWriter::begin(&mut out, *b"LAYR");
        let data = chunk.data();
        data.extend_from_slice(&(table.len() as i32).to_le_bytes());
        for (index, origin) in table {
            for v in [*index as i32, origin.x, origin.y, origin.z, 0] {
                data.extend_from_slice(&v.to_le_bytes());
            }
        }
        let name = truncated(&layer.name, MAX_VALUE).as_bytes();
        // A dictionary whose first value is empty stops the daemon's loader after that entry,
        // so an empty name goes last (Goxel's reader takes keys in any order).
        if !name.is_empty() {
            chunk.entry("name", name);
        }
        chunk.entry("mat", &mat_bytes(&IDENTITY));
        chunk.entry("id", &(layer.id.0 as i32).to_le_bytes());
        chunk.entry("base_id", &0i32.to_le_bytes());
        chunk.entry("material", &0i32.to_le_bytes());
        chunk.entry("mode", &0i32.to_le_bytes());
        chunk.entry("visible", &[layer.visible as u8]);
        if name.is_empty() {
            chunk.entry("name", name);
        }
        chunk.end()?;
    }

    // The camera of Goxel's default view (the sample's rotation), aimed at the image box from a
    // distance that keeps the whole box in view.
    let radius = half.length() as f32;
    let dist = (6.0 * radius).max(128.0);
    let s = std::f32::consts::FRAC_1_SQRT_2;
    let back = glam::Vec3::new(0.5, -0.5, s);
    let eye = centre.as_vec3() + back * dist;
    let camera = [
        s, s, 0.0, 0.0, //
        -0.5, 0.5, s, 0.0, //
        back.x, back.y, back.z, 0.0, //
        eye.x, eye.y, eye.z, 1.0,
    ];
    let mut chunk = ChunkWriter::begin(&mut out, *b"CAMR");
    chunk.entry("name", b"Camera.1");
    chunk.entry("dist", &dist.to_le_bytes());
    chunk.entry("ortho", &[0]);
    chunk.entry("mat", &mat_bytes(&camera));
    chunk.entry("active", &[]);
    chunk.end()?;

    let mut chunk = ChunkWriter::begin(&mut out, *b"LIGH");
    chunk.entry("pitch", &35f32.to_radians().to_le_bytes());
    chunk.entry("yaw", &25f32.to_radians().to_le_bytes());
    chunk.entry("intensity", &1f32.to_le_bytes());
    chunk.entry("fixed", &[0]);
    chunk.entry("ambient", &1f32.to_le_bytes());
    chunk.entry("shadow", &0f32.to_le_bytes());
    chunk.end()?;

    Ok(Encoded {
        bytes: out,
        sidecars: Vec::new(),
        report: EncodeReport {
            voxel_count: world.voxel_count(),
            color_count: blocks.color_count(),
            ..EncodeReport::default()
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Reading.

/// One chunk of the file, located but not yet interpreted.
struct RawChunk<'a> {
    kind: [u8; 4],
    /// Byte offset of the chunk's type field in the file.
    offset: usize,
    /// Byte offset of the first data byte in the file.
    data_offset: usize,
    data: &'a [u8],
    /// Byte offset just past the CRC field: where the next chunk starts.
    end: usize,
}

impl RawChunk<'_> {
    /// How error messages name this chunk: its type and where it starts.
    fn describe(&self) -> String {
        format!(
            "'{}' chunk at byte {}",
            self.kind.escape_ascii(),
            self.offset
        )
    }
}

/// Frames the chunk starting at `offset`, checking that the file holds all of it.
fn next_chunk(bytes: &[u8], offset: usize) -> Result<RawChunk<'_>, FormatError> {
    let rest = &bytes[offset..];
    if rest.len() < 8 {
        return Err(FormatError::new(format!(
            "file cut short at byte {}: {} bytes where a chunk header needs 8",
            bytes.len(),
            rest.len()
        )));
    }
    let kind = [rest[0], rest[1], rest[2], rest[3]];
    let length = i32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    let describe = || format!("'{}' chunk at byte {offset}", kind.escape_ascii());
    if length < 0 {
        return Err(FormatError::new(format!(
            "{}: negative data length {length}",
            describe()
        )));
    }
    let length = length as usize;
    let left = rest.len() - 8;
    if length > left || left - length < 4 {
        return Err(FormatError::new(format!(
            "{}: {length} data bytes and a 4-byte CRC field run past the end of the file ({left} bytes left)",
            describe()
        )));
    }
    Ok(RawChunk {
        kind,
        offset,
        data_offset: offset + 8,
        data: &rest[8..8 + length],
        end: offset + 12 + length,
    })
}

/// A layer's chunks (chunk position, voxels), or a list of blocks and their origins.
type Chunks = Vec<(IVec3, Arc<ChunkData>)>;

/// What has been read so far.
struct FileReader {
    version: i32,
    budget: Budget,
    /// The `BL16` blocks in file order (block index = position).
    blocks: Vec<Arc<ChunkData>>,
    layers: Vec<ReadLayer>,
}

/// A `LAYR` chunk as read, before clones are resolved and voxels are placed.
struct ReadLayer {
    name: Option<String>,
    id: i32,
    base_id: i32,
    mat: Option<[f32; 16]>,
    visible: bool,
    /// Block origins (voxel coordinates) and blocks, in file order.
    placements: Chunks,
    /// Where the chunk starts, for error messages.
    offset: usize,
}

impl FileReader {
    /// Interprets one chunk; the error is the reason, the caller adds the chunk's name.
    fn read_chunk(&mut self, chunk: &RawChunk<'_>) -> Result<(), String> {
        match &chunk.kind {
            b"BL16" => {
                let block = decode_block_png(chunk.data)
                    .map_err(|e| format!("block {}: {e}", self.blocks.len()))?;
                self.blocks.push(Arc::new(block));
            }
            b"LAYR" => {
                let layer = self.read_layer(chunk)?;
                self.layers.push(layer);
            }
            // The image box, materials, cameras and light do not enter the world; their
            // dictionaries are still checked, so a damaged one is noticed.
            b"IMG " | b"MATE" | b"CAMR" | b"LIGH" => {
                read_dict(chunk.data, chunk.data_offset, |_, _| {})?;
            }
            // `PREV` (a thumbnail) and chunk types this reader does not know are skipped.
            _ => {}
        }
        Ok(())
    }

    fn read_layer(&self, chunk: &RawChunk<'_>) -> Result<ReadLayer, String> {
        let data = chunk.data;
        if data.len() < 4 {
            return Err(format!(
                "{} data bytes, too short for the block count",
                data.len()
            ));
        }
        let count = i32_at(data, 0);
        if count < 0 {
            return Err(format!("negative block count {count}"));
        }
        let table_bytes = 4 + 20 * count as u64;
        if table_bytes > data.len() as u64 {
            return Err(format!(
                "{count} block records need {table_bytes} bytes, the chunk holds {}",
                data.len()
            ));
        }
        let mut placements = Vec::with_capacity(count as usize);
        for j in 0..count as usize {
            let at = 4 + 20 * j;
            let index = i32_at(data, at);
            let record = || format!("block record {j} at byte {}", chunk.data_offset + at);
            let block = usize::try_from(index)
                .ok()
                .and_then(|i| self.blocks.get(i))
                .ok_or_else(|| {
                    format!(
                        "{} refers to block {index}, but {} BL16 chunks come before it",
                        record(),
                        self.blocks.len()
                    )
                })?;
            let mut origin = IVec3::new(
                i32_at(data, at + 4),
                i32_at(data, at + 8),
                i32_at(data, at + 12),
            );
            if self.version == 1 {
                // Version 1 stored block centres.
                origin = match (
                    origin.x.checked_sub(8),
                    origin.y.checked_sub(8),
                    origin.z.checked_sub(8),
                ) {
                    (Some(x), Some(y), Some(z)) => IVec3::new(x, y, z),
                    _ => return Err(format!("{} lies outside the 32-bit range", record())),
                };
            }
            if origin.max_element() > i32::MAX - (CHUNK_SIZE - 1) {
                return Err(format!(
                    "{} at {origin} reaches past the 32-bit coordinate range",
                    record()
                ));
            }
            placements.push((origin, Arc::clone(block)));
        }

        let mut layer = ReadLayer {
            name: None,
            id: 0,
            base_id: 0,
            mat: None,
            visible: true,
            placements,
            offset: chunk.offset,
        };
        let dict_start = table_bytes as usize;
        read_dict(
            &data[dict_start..],
            chunk.data_offset + dict_start,
            |key, value| match (key, value.len()) {
                (b"name", _) => layer.name = Some(String::from_utf8_lossy(value).into_owned()),
                (b"id", 4) => layer.id = i32_at(value, 0),
                (b"base_id", 4) => layer.base_id = i32_at(value, 0),
                (b"visible", 1) => layer.visible = value[0] != 0,
                (b"mat", 64) => {
                    let mut m = [0f32; 16];
                    for (k, v) in m.iter_mut().enumerate() {
                        *v = f32::from_bits(i32_at(value, 4 * k) as u32);
                    }
                    layer.mat = Some(m);
                }
                // Other keys (material, mode, box, shape, colour, img-path) and values of the
                // wrong size are ignored, as Goxel does.
                _ => {}
            },
        )?;
        Ok(layer)
    }

    /// Resolves clones and places every layer's blocks into chunks.
    fn finish(mut self) -> Result<Document, FormatError> {
        let resolved = self.resolve_clones()?;
        let layers = self
            .layers
            .into_iter()
            .zip(resolved)
            .enumerate()
            .map(|(i, (layer, chunks))| DocLayer {
                id: u32::try_from(layer.id).ok().filter(|&id| id > 0),
                name: layer.name.unwrap_or_else(|| format!("Layer.{}", i + 1)),
                visible: layer.visible,
                chunks,
            })
            .collect();
        Ok(Document {
            layers,
            active: None,
        })
    }

    /// The chunks of every layer. A clone takes its base layer's voxels (the first layer with
    /// that id, itself resolved first if it is a clone); a clone whose base is missing, or that
    /// is part of a cycle of clones, is empty.
    fn resolve_clones(&mut self) -> Result<Vec<Chunks>, FormatError> {
        let count = self.layers.len();
        let mut by_id: FxHashMap<i32, usize> = FxHashMap::default();
        for (i, layer) in self.layers.iter().enumerate() {
            if layer.id != 0 {
                by_id.entry(layer.id).or_insert(i);
            }
        }
        let mut done: Vec<Option<Chunks>> = vec![None; count];
        // Walk each layer's chain of bases with an explicit stack, so a long chain cannot
        // overflow the call stack and every layer is resolved once.
        let mut on_stack = vec![false; count];
        for start in 0..count {
            let mut stack = Vec::new();
            let mut at = start;
            let base_chunks = loop {
                if let Some(chunks) = &done[at] {
                    break Some(chunks.clone());
                }
                if on_stack[at] {
                    // A cycle: every clone on it is empty.
                    break None;
                }
                let layer = &self.layers[at];
                if layer.base_id == 0 {
                    let placements = std::mem::take(&mut self.layers[at].placements);
                    let chunks = self.place(at, &placements)?;
                    done[at] = Some(chunks.clone());
                    break Some(chunks);
                }
                on_stack[at] = true;
                stack.push(at);
                match by_id.get(&layer.base_id) {
                    Some(&base) => at = base,
                    None => break None,
                }
            };
            let mut chunks = base_chunks.unwrap_or_default();
            while let Some(clone) = stack.pop() {
                on_stack[clone] = false;
                chunks = self.clone_of(clone, &chunks)?;
                done[clone] = Some(chunks.clone());
            }
        }
        Ok(done.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// The voxels of clone layer `clone` made from its base's chunks: moved by the clone's
    /// transform when that is a whole-voxel translation, copied as they are otherwise.
    fn clone_of(
        &mut self,
        clone: usize,
        base: &[(IVec3, Arc<ChunkData>)],
    ) -> Result<Chunks, FormatError> {
        let shift = match self.layers[clone].mat {
            None => IVec3::ZERO,
            Some(m) => match integer_translation(&m) {
                Some(t) => t,
                None => {
                    tracing::warn!(
                        layer = clone,
                        "gox clone layer with a rotation or scale: voxels copied untransformed"
                    );
                    IVec3::ZERO
                }
            },
        };
        let entries = std::mem::size_of_val(base);
        self.budget
            .charge(entries, "clone layers")
            .map_err(|reason| self.layer_error(clone, reason))?;
        if shift == IVec3::ZERO {
            return Ok(base.to_vec());
        }
        let mut placements = Vec::with_capacity(base.len());
        for (pos, data) in base {
            let origin = (pos.as_i64vec3() * CHUNK_SIZE as i64) + shift.as_i64vec3();
            let fits = |v: i64| v >= i32::MIN as i64 && v <= (i32::MAX - (CHUNK_SIZE - 1)) as i64;
            if !(fits(origin.x) && fits(origin.y) && fits(origin.z)) {
                return Err(self.layer_error(
                    clone,
                    format!("clone translation {shift} moves voxels past the 32-bit range"),
                ));
            }
            placements.push((origin.as_ivec3(), Arc::clone(data)));
        }
        self.place(clone, &placements)
    }

    /// Places blocks at their origins, later blocks over earlier ones (a block overwrites all
    /// 16³ voxels it covers, empty ones included, as Goxel's blit does).
    fn place(
        &mut self,
        layer: usize,
        placements: &[(IVec3, Arc<ChunkData>)],
    ) -> Result<Chunks, FormatError> {
        let placed = place_blocks(placements, &mut self.budget);
        placed.map_err(|reason| self.layer_error(layer, reason))
    }

    fn layer_error(&self, layer: usize, reason: String) -> FormatError {
        FormatError::new(format!(
            "'LAYR' chunk at byte {} (layer {}): {reason}",
            self.layers[layer].offset,
            layer + 1
        ))
    }
}

/// Memory a document may spend on chunks the file does not pay for record by record: clone
/// layers copy their base's chunk list, and a block placed off the 16-voxel grid spreads over
/// up to eight new chunks. Both are charged here, against 16 MiB plus 64 bytes per file byte.
struct Budget {
    left: usize,
    limit: usize,
}

impl Budget {
    fn for_file(len: usize) -> Budget {
        let limit = (16usize << 20).saturating_add(len.saturating_mul(64));
        Budget { left: limit, limit }
    }

    /// Takes `bytes` from what is left, or says that `what` needs more than the file allows.
    fn charge(&mut self, bytes: usize, what: &str) -> Result<(), String> {
        self.left = self.left.checked_sub(bytes).ok_or_else(|| {
            format!(
                "{what} need more than the {} MiB this file size allows",
                self.limit >> 20
            )
        })?;
        Ok(())
    }
}

/// The chunks `placements` make, sorted (z, y, x). Blocks on the grid are shared as they are;
/// chunks touched by an off-grid block are built once from every block covering them.
fn place_blocks(
    placements: &[(IVec3, Arc<ChunkData>)],
    budget: &mut Budget,
) -> Result<Chunks, String> {
    const MASK: i32 = CHUNK_SIZE - 1;
    // The last on-grid block of each chunk, and every off-grid block reaching into a chunk.
    let mut aligned: FxHashMap<IVec3, usize> = FxHashMap::default();
    let mut off_grid: FxHashMap<IVec3, Vec<usize>> = FxHashMap::default();
    for (i, (origin, _)) in placements.iter().enumerate() {
        if (origin.x | origin.y | origin.z) & MASK == 0 {
            aligned.insert(split(*origin).0, i);
        } else {
            let (lo, _) = split(*origin);
            let (hi, _) = split(*origin + MASK);
            for z in lo.z..=hi.z {
                for y in lo.y..=hi.y {
                    for x in lo.x..=hi.x {
                        off_grid.entry(IVec3::new(x, y, z)).or_default().push(i);
                    }
                }
            }
        }
    }
    let mut chunks = Vec::with_capacity(aligned.len() + off_grid.len());
    for (&pos, &i) in &aligned {
        let later = off_grid
            .get(&pos)
            .is_some_and(|list| list.last().is_some_and(|&j| j > i));
        let data = &placements[i].1;
        if !later && !data.is_empty() {
            chunks.push((pos, Arc::clone(data)));
        }
    }
    let mut dense = Box::new([Color::EMPTY; CHUNK_VOLUME]);
    let mut source = Box::new([Color::EMPTY; CHUNK_VOLUME]);
    for (&pos, list) in &off_grid {
        let first = aligned.get(&pos).copied();
        if list.last().is_none_or(|&j| first.is_some_and(|i| j < i)) {
            continue;
        }
        match first {
            Some(i) => *dense = *placements[i].1.to_dense(),
            None => dense.fill(Color::EMPTY),
        }
        let chunk_min = pos * CHUNK_SIZE;
        let chunk_max = chunk_min + MASK;
        for &j in list.iter().filter(|&&j| first.is_none_or(|i| j > i)) {
            let (origin, block) = &placements[j];
            *source = *block.to_dense();
            let lo = origin.max(chunk_min);
            let hi = (*origin + MASK).min(chunk_max);
            for z in lo.z..=hi.z {
                for y in lo.y..=hi.y {
                    for x in lo.x..=hi.x {
                        let p = IVec3::new(x, y, z);
                        dense[local_index(p)] = source[local_index(p - *origin)];
                    }
                }
            }
        }
        let data = ChunkData::from_dense(&dense);
        if data.is_empty() {
            continue;
        }
        let cost = data.heap_bytes() + std::mem::size_of::<ChunkData>();
        budget.charge(cost, "blocks placed off the 16-voxel grid")?;
        chunks.push((pos, Arc::new(data)));
    }
    chunks.sort_unstable_by_key(|(p, _)| zyx_key(*p));
    Ok(chunks)
}

/// The whole-voxel translation `m` is, if it is one (upper 3×3 identity, integral offsets).
fn integer_translation(m: &[f32; 16]) -> Option<IVec3> {
    if m[..12] != IDENTITY[..12] || m[15] != 1.0 {
        return None;
    }
    let whole = |v: f32| (v.fract() == 0.0 && v.abs() <= (1u32 << 30) as f32).then_some(v as i32);
    Some(IVec3::new(whole(m[12])?, whole(m[13])?, whole(m[14])?))
}

/// Calls `f(key, value)` for each entry of the dictionary `data`, whose first byte is at byte
/// `offset` of the file. The dictionary runs to the end of `data`, or to a zero key length,
/// which must then be its last four bytes.
fn read_dict<'a>(
    data: &'a [u8],
    offset: usize,
    mut f: impl FnMut(&'a [u8], &'a [u8]),
) -> Result<(), String> {
    let mut at = 0;
    while at < data.len() {
        let entry = offset + at;
        let key_len = length_at(data, at, "key", entry)?;
        at += 4;
        if key_len == 0 {
            if at != data.len() {
                return Err(format!(
                    "{} bytes follow the end of the dictionary at byte {entry}",
                    data.len() - at
                ));
            }
            break;
        }
        let key = &data[at..at + key_len];
        at += key_len;
        let value_len = length_at(data, at, "value", entry)?;
        at += 4;
        f(key, &data[at..at + value_len]);
        at += value_len;
    }
    Ok(())
}

/// The non-negative length at `data[at..]` of a dictionary `what`, checked to fit in `data`.
fn length_at(data: &[u8], at: usize, what: &str, entry: usize) -> Result<usize, String> {
    if data.len() - at < 4 {
        return Err(format!(
            "dictionary entry at byte {entry}: {} bytes left where the {what} length needs 4",
            data.len() - at
        ));
    }
    let len = i32_at(data, at);
    let left = data.len() - at - 4;
    if len < 0 {
        return Err(format!(
            "dictionary entry at byte {entry}: negative {what} length {len}"
        ));
    }
    if len as usize > left {
        return Err(format!(
            "dictionary entry at byte {entry}: {what} of {len} bytes runs past the end of the chunk ({left} bytes left)"
        ));
    }
    Ok(len as usize)
}

/// The little-endian `i32` at `data[at..at + 4]` (the caller checked the bounds).
fn i32_at(data: &[u8], at: usize) -> i32 {
    i32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// Decodes a `BL16` chunk's PNG into a block. The image must be 64×64; 8-bit RGBA as Goxel
/// writes it, or any other PNG colour type, converted to RGBA (opaque where it has no alpha).
fn decode_block_png(png_bytes: &[u8]) -> Result<ChunkData, String> {
    let png_error = |e: png::DecodingError| format!("bad PNG: {e}");
    // The decoder's own buffers (one row, the inflate window) stay far under this.
    let limits = png::Limits { bytes: 1 << 20 };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(png_bytes), limits);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let info = decoder.read_header_info().map_err(png_error)?;
    if (info.width, info.height) != (PNG_EDGE, PNG_EDGE) {
        return Err(format!(
            "the PNG is {}×{}, a block must be 64×64",
            info.width, info.height
        ));
    }
    let mut reader = decoder.read_info().map_err(png_error)?;
    let (color_type, depth) = reader.output_color_type();
    let channels = match color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Grayscale => 1,
        png::ColorType::Indexed => 0,
    };
    if depth != png::BitDepth::Eight || channels == 0 {
        return Err(format!(
            "the PNG decodes to {color_type:?} at {depth:?} bits, not 8-bit colour"
        ));
    }
    let size = CHUNK_VOLUME * channels;
    if reader.output_buffer_size() != Some(size) {
        return Err("the PNG's decoded size does not match 64×64 pixels".into());
    }
    let mut buffer = vec![0u8; size];
    reader.next_frame(&mut buffer).map_err(png_error)?;
    let mut dense = Box::new([Color::EMPTY; CHUNK_VOLUME]);
    match channels {
        4 => {
            for (voxel, px) in dense.iter_mut().zip(buffer.chunks_exact(4)) {
                *voxel = Color::rgba(px[0], px[1], px[2], px[3]);
            }
        }
        3 => {
            for (voxel, px) in dense.iter_mut().zip(buffer.chunks_exact(3)) {
                *voxel = Color::rgb(px[0], px[1], px[2]);
            }
        }
        2 => {
            for (voxel, px) in dense.iter_mut().zip(buffer.chunks_exact(2)) {
                *voxel = Color::rgba(px[0], px[0], px[0], px[1]);
            }
        }
        _ => {
            for (voxel, &g) in dense.iter_mut().zip(&buffer) {
                *voxel = Color::rgb(g, g, g);
            }
        }
    }
    Ok(ChunkData::from_dense(&dense))
}

// ---------------------------------------------------------------------------------------------
// Writing.

/// A chunk being written: its type and length field are in place, the data follows.
struct ChunkWriter<'a> {
    out: &'a mut Vec<u8>,
    /// Where the length field is.
    length_at: usize,
}

impl<'a> ChunkWriter<'a> {
    fn begin(out: &'a mut Vec<u8>, kind: [u8; 4]) -> ChunkWriter<'a> {
        out.extend_from_slice(&kind);
        let length_at = out.len();
        out.extend_from_slice(&[0; 4]);
        ChunkWriter { out, length_at }
    }

    /// The buffer the chunk's data is appended to.
    fn data(&mut self) -> &mut Vec<u8> {
        self.out
    }

    /// Appends a dictionary entry (keys and values are at most 255 bytes, as Goxel needs).
    fn entry(&mut self, key: &str, value: &[u8]) {
        debug_assert!(key.len() <= MAX_VALUE && value.len() <= MAX_VALUE);
        self.out
            .extend_from_slice(&(key.len() as i32).to_le_bytes());
        self.out.extend_from_slice(key.as_bytes());
        self.out
            .extend_from_slice(&(value.len() as i32).to_le_bytes());
        self.out.extend_from_slice(value);
    }

    /// Fills in the length and appends the CRC field, which Goxel writes as 0.
    fn end(self) -> Result<(), FormatError> {
        let length = self.out.len() - self.length_at - 4;
        let length = i32::try_from(length).map_err(|_| {
            FormatError::new(format!(
                "a chunk of {length} bytes does not fit the format's 32-bit length"
            ))
        })?;
        self.out[self.length_at..self.length_at + 4].copy_from_slice(&length.to_le_bytes());
        self.out.extend_from_slice(&[0; 4]);
        Ok(())
    }
}

/// The distinct blocks written so far, found by `Arc` pointer first and by content second.
#[derive(Default)]
struct Blocks {
    by_pointer: FxHashMap<usize, u32>,
    by_content: FxHashMap<BlockKey, u32>,
    /// One of each distinct block, for the colour count.
    distinct: Vec<Arc<ChunkData>>,
}

/// What makes two blocks the same: the colour of a uniform block, else the content digest.
#[derive(PartialEq, Eq, Hash)]
enum BlockKey {
    Uniform(Color),
    Digest([u8; 32]),
}

impl Blocks {
    fn find(&mut self, data: &Arc<ChunkData>) -> Option<u32> {
        let pointer = Arc::as_ptr(data) as usize;
        if let Some(&index) = self.by_pointer.get(&pointer) {
            return Some(index);
        }
        let index = *self.by_content.get(&key_of(data))?;
        self.by_pointer.insert(pointer, index);
        Some(index)
    }

    fn insert(&mut self, data: &Arc<ChunkData>) -> u32 {
        let index = self.distinct.len() as u32;
        self.by_pointer.insert(Arc::as_ptr(data) as usize, index);
        self.by_content.insert(key_of(data), index);
        self.distinct.push(Arc::clone(data));
        index
    }

    fn color_count(&self) -> u64 {
        let mut colors = FxHashSet::default();
        for block in &self.distinct {
            block.color_counts(|c, _| {
                colors.insert(c);
            });
        }
        colors.len() as u64
    }
}

fn key_of(data: &ChunkData) -> BlockKey {
    match data.uniform_color() {
        Some(c) => BlockKey::Uniform(c),
        None => BlockKey::Digest(data.digest()),
    }
}

/// Appends `data` as a 64×64 8-bit RGBA PNG (pixel i = voxel i), compressed for speed.
fn write_block_png(
    out: &mut Vec<u8>,
    data: &ChunkData,
    pixels: &mut [u8],
) -> Result<(), FormatError> {
    match data.uniform_color() {
        Some(c) => pixels
            .chunks_exact_mut(4)
            .for_each(|px| px.copy_from_slice(&c.0)),
        None => {
            for (px, c) in pixels.chunks_exact_mut(4).zip(data.to_dense().iter()) {
                px.copy_from_slice(&c.0);
            }
        }
    }
    let png_error = |e: png::EncodingError| FormatError::new(format!("cannot encode a block: {e}"));
    let mut encoder = png::Encoder::new(out, PNG_EDGE, PNG_EDGE);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(pixels).map_err(png_error)?;
    writer.finish().map_err(png_error)
}

const IDENTITY: [f32; 16] = [
    1.0, 0.0, 0.0, 0.0, //
    0.0, 1.0, 0.0, 0.0, //
    0.0, 0.0, 1.0, 0.0, //
    0.0, 0.0, 0.0, 1.0,
];

/// Goxel's box: the transform of the cube [−1, 1]³ onto the box, column-major.
fn box_mat(half: glam::DVec3, centre: glam::DVec3) -> [f32; 16] {
    let (h, c) = (half.as_vec3(), centre.as_vec3());
    [
        h.x, 0.0, 0.0, 0.0, //
        0.0, h.y, 0.0, 0.0, //
        0.0, 0.0, h.z, 0.0, //
        c.x, c.y, c.z, 1.0,
    ]
}

fn mat_bytes(m: &[f32; 16]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (dst, v) in out.chunks_exact_mut(4).zip(m) {
        dst.copy_from_slice(&v.to_le_bytes());
    }
    out
}

fn floats(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncated(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_at_a_character_boundary() {
        let name = "é".repeat(200);
        let cut = truncated(&name, MAX_VALUE);
        assert_eq!(cut.len(), 254);
        assert_eq!(truncated("short", MAX_VALUE), "short");
    }

    #[test]
    fn only_whole_voxel_translations_move_clones() {
        let mut m = IDENTITY;
        assert_eq!(integer_translation(&m), Some(IVec3::ZERO));
        m[12..15].copy_from_slice(&[3.0, -20.0, 16.0]);
        assert_eq!(integer_translation(&m), Some(IVec3::new(3, -20, 16)));
        m[12] = 0.5;
        assert_eq!(integer_translation(&m), None);
        m[12] = 1.0;
        m[0] = 2.0;
        assert_eq!(integer_translation(&m), None);
    }

    #[test]
    fn a_dictionary_may_end_with_a_terminator_but_nothing_after_it() {
        let mut d = Vec::new();
        d.extend_from_slice(&2i32.to_le_bytes());
        d.extend_from_slice(b"id");
        d.extend_from_slice(&1i32.to_le_bytes());
        d.push(7);
        d.extend_from_slice(&0i32.to_le_bytes());
        let mut seen = Vec::new();
        read_dict(&d, 0, |k, v| seen.push((k.to_vec(), v.to_vec()))).unwrap();
        assert_eq!(seen, [(b"id".to_vec(), vec![7])]);
        d.push(0);
        let e = read_dict(&d, 100, |_, _| {}).unwrap_err();
        assert!(e.contains("1 bytes follow"), "{e}");
    }

    #[test]
    fn off_grid_blocks_overwrite_what_they_cover_in_file_order() {
        let red = Arc::new(ChunkData::uniform(Color::rgb(255, 0, 0)));
        let mut one = ChunkData::empty();
        one.set(0, Color::rgb(0, 0, 255));
        let one = Arc::new(one);
        let placements = vec![
            (IVec3::ZERO, red.clone()),
            // Covers x 8..23 of chunks (0,0,0) and (1,0,0): clears what it covers except (8,0,0).
            (IVec3::new(8, 0, 0), one.clone()),
        ];
        let mut budget = Budget::for_file(0);
        let chunks = place_blocks(&placements, &mut budget).unwrap();
        assert_eq!(chunks.len(), 1, "the second chunk holds nothing");
        let c = &chunks[0].1;
        assert_eq!(
            c.get(local_index(IVec3::new(7, 0, 0))),
            Color::rgb(255, 0, 0)
        );
        assert_eq!(
            c.get(local_index(IVec3::new(8, 0, 0))),
            Color::rgb(0, 0, 255)
        );
        assert_eq!(c.get(local_index(IVec3::new(9, 0, 0))), Color::EMPTY);
        assert_eq!(c.filled(), 4096 - 8 * 256 + 1);
        // An on-grid block after the off-grid one wins over all of its chunk.
        let placements = vec![(IVec3::new(8, 0, 0), one), (IVec3::ZERO, red.clone())];
        let chunks = place_blocks(&placements, &mut budget).unwrap();
        assert_eq!(chunks.len(), 1);
        assert!(Arc::ptr_eq(&chunks[0].1, &red));
    }
}
