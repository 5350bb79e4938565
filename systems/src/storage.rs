//! Paletted chunk storage: what one chunk's voxels cost in memory.
//!
//! A chunk starts [`Uniform`](ChunkKind::Uniform) (one colour, a few bytes), becomes a 4-bit
//! palette when a second colour arrives, an 8-bit palette past 16 colours and direct RGBA past
//! 256. It moves back down as colours disappear: a palette whose last colour but one loses its
//! last voxel becomes uniform at once, and [`ChunkData::normalize`] repacks wide palettes and
//! direct chunks (amortised: a direct chunk is rescanned only after [`REPACK_WRITES`] writes).
//!
//! ```
//! use systems::{ChunkData, ChunkKind, Color};
//! let mut chunk = ChunkData::empty();
//! assert_eq!(chunk.kind(), ChunkKind::Uniform);
//! chunk.set(0, Color::rgb(255, 0, 0));
//! assert_eq!(chunk.kind(), ChunkKind::Palette4);
//! chunk.set(0, Color::EMPTY);
//! assert_eq!(chunk.kind(), ChunkKind::Uniform);
//! assert!(chunk.is_empty());
//! ```

use std::sync::OnceLock;

use glam::IVec3;

use crate::color::Color;
use crate::coords::{CHUNK_VOLUME, VoxelBox, voxel_pos};

/// Writes to a direct chunk between two scans for a smaller representation.
pub const REPACK_WRITES: u16 = 1024;

/// The representation a chunk currently uses (for tests and statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkKind {
    /// One colour for all voxels.
    Uniform,
    /// Up to 16 colours, 4-bit indices.
    Palette4,
    /// Up to 256 colours, 8-bit indices.
    Palette8,
    /// Plain RGBA per voxel.
    Direct,
}

/// The voxels of one chunk. Cheap to clone when uniform; shared behind `Arc` by the world and
/// snapshots, and copied on write.
#[derive(Clone, Debug)]
pub struct ChunkData {
    storage: Storage,
    /// Non-empty voxels, kept exact so an empty chunk is noticed at once.
    filled: u16,
    /// Writes since the last repack scan (direct chunks only).
    writes_since_pack: u16,
    /// BLAKE3 of the canonical voxel bytes, computed on demand for the world hash.
    digest: OnceLock<[u8; 32]>,
    /// Tight bounds of the non-empty voxels, in chunk-local coordinates.
    bounds: OnceLock<Option<VoxelBox>>,
}

#[derive(Clone, Debug)]
enum Storage {
    Uniform(Color),
    Palette(Palette),
    Direct(Box<[Color; CHUNK_VOLUME]>),
}

#[derive(Clone, Debug)]
struct Palette {
    colors: Vec<Color>,
    /// Voxels using each entry; an entry at 0 is free for reuse.
    counts: Vec<u16>,
    /// Entries with a non-zero count.
    live: u16,
    /// 8-bit indices when true, 4-bit otherwise.
    wide: bool,
    indices: Box<[u8]>,
}

impl Palette {
    fn capacity(&self) -> usize {
        if self.wide { 256 } else { 16 }
    }

    #[inline]
    fn index(&self, i: usize) -> usize {
        if self.wide {
            self.indices[i] as usize
        } else {
            ((self.indices[i >> 1] >> ((i & 1) << 2)) & 0xF) as usize
        }
    }

    #[inline]
    fn set_index(&mut self, i: usize, v: usize) {
        if self.wide {
            self.indices[i] = v as u8;
        } else {
            let shift = (i & 1) << 2;
            let b = &mut self.indices[i >> 1];
            *b = (*b & !(0xF << shift)) | ((v as u8) << shift);
        }
    }

    /// The entry holding `c`, reusing a free entry or growing; `None` when full.
    #[inline]
    fn find_or_insert(&mut self, c: Color) -> Option<usize> {
        if let Some(i) = self.colors.iter().position(|&x| x == c) {
            return Some(i);
        }
        if let Some(i) = self.counts.iter().position(|&n| n == 0) {
            self.colors[i] = c;
            return Some(i);
        }
        if self.colors.len() < self.capacity() {
            self.colors.push(c);
            self.counts.push(0);
            return Some(self.colors.len() - 1);
        }
        None
    }

    /// A compact palette holding exactly the colours of `dense`, if they fit in 256.
    fn from_dense(dense: &[Color; CHUNK_VOLUME]) -> Option<Palette> {
        let mut colors: Vec<Color> = Vec::new();
        let mut counts: Vec<u16> = Vec::new();
        let mut idx = vec![0u8; CHUNK_VOLUME];
        let mut last = (Color::EMPTY, usize::MAX);
        for (i, &c) in dense.iter().enumerate() {
            let c = c.canonical();
            let e = if last.1 != usize::MAX && last.0 == c {
                last.1
            } else {
                let e = match colors.iter().position(|&x| x == c) {
                    Some(e) => e,
                    None => {
                        if colors.len() == 256 {
                            return None;
                        }
                        colors.push(c);
                        counts.push(0);
                        colors.len() - 1
                    }
                };
                last = (c, e);
                e
            };
            counts[e] += 1;
            idx[i] = e as u8;
        }
        let live = colors.len() as u16;
        let wide = colors.len() > 16;
        let indices = if wide {
            idx.into_boxed_slice()
        } else {
            let mut packed = vec![0u8; CHUNK_VOLUME / 2];
            for (i, &v) in idx.iter().enumerate() {
                packed[i >> 1] |= v << ((i & 1) << 2);
            }
            packed.into_boxed_slice()
        };
        Some(Palette {
            colors,
            counts,
            live,
            wide,
            indices,
        })
    }
}

impl ChunkData {
    /// A chunk of empty voxels.
    pub fn empty() -> ChunkData {
        ChunkData::uniform(Color::EMPTY)
    }

    /// A chunk filled with one colour.
    pub fn uniform(c: Color) -> ChunkData {
        let c = c.canonical();
        ChunkData {
            storage: Storage::Uniform(c),
            filled: if c.is_empty() { 0 } else { CHUNK_VOLUME as u16 },
            writes_since_pack: 0,
            digest: OnceLock::new(),
            bounds: OnceLock::new(),
        }
    }

    /// A chunk from all its voxels, x-fastest, in the smallest representation.
    pub fn from_dense(dense: &[Color; CHUNK_VOLUME]) -> ChunkData {
        let first = dense[0].canonical();
        if dense.iter().all(|&c| c.canonical() == first) {
            return ChunkData::uniform(first);
        }
        let (storage, filled) = match Palette::from_dense(dense) {
            Some(p) => {
                let empty: usize = p
                    .colors
                    .iter()
                    .zip(&p.counts)
                    .filter(|(c, _)| c.is_empty())
                    .map(|(_, &n)| n as usize)
                    .sum();
                (Storage::Palette(p), CHUNK_VOLUME - empty)
            }
            None => {
                let mut d = Box::new(*dense);
                for c in d.iter_mut() {
                    *c = c.canonical();
                }
                let filled = d.iter().filter(|c| !c.is_empty()).count();
                (Storage::Direct(d), filled)
            }
        };
        ChunkData {
            storage,
            filled: filled as u16,
            writes_since_pack: 0,
            digest: OnceLock::new(),
            bounds: OnceLock::new(),
        }
    }

    /// A chunk of two colours: `one` where `bits[i]` is 1, `zero` where it is 0.
    pub fn from_two_colors(bits: &[u8; CHUNK_VOLUME], zero: Color, one: Color) -> ChunkData {
        let (zero, one) = (zero.canonical(), one.canonical());
        let ones: usize = bits.iter().map(|&b| b as usize).sum();
        if ones == 0 || zero == one {
            return ChunkData::uniform(if ones == 0 { zero } else { one });
        }
        if ones == CHUNK_VOLUME {
            return ChunkData::uniform(one);
        }
        let mut indices = vec![0u8; CHUNK_VOLUME / 2].into_boxed_slice();
        for (byte, pair) in indices.iter_mut().zip(bits.chunks_exact(2)) {
            *byte = pair[0] | (pair[1] << 4);
        }
        let filled = (if zero.is_empty() {
            0
        } else {
            CHUNK_VOLUME - ones
        }) + (if one.is_empty() { 0 } else { ones });
        ChunkData {
            storage: Storage::Palette(Palette {
                colors: vec![zero, one],
                counts: vec![(CHUNK_VOLUME - ones) as u16, ones as u16],
                live: 2,
                wide: false,
                indices,
            }),
            filled: filled as u16,
            writes_since_pack: 0,
            digest: OnceLock::new(),
            bounds: OnceLock::new(),
        }
    }

    /// The representation in use.
    pub fn kind(&self) -> ChunkKind {
        match &self.storage {
            Storage::Uniform(_) => ChunkKind::Uniform,
            Storage::Palette(p) if p.wide => ChunkKind::Palette8,
            Storage::Palette(_) => ChunkKind::Palette4,
            Storage::Direct(_) => ChunkKind::Direct,
        }
    }

    /// The colour at chunk-local index `i` (x-fastest).
    #[inline]
    pub fn get(&self, i: usize) -> Color {
        match &self.storage {
            Storage::Uniform(c) => *c,
            Storage::Palette(p) => p.colors[p.index(i)],
            Storage::Direct(d) => d[i],
        }
    }

    /// Sets the voxel at local index `i` to `c` (canonical) and returns the colour it had.
    #[inline]
    pub fn set(&mut self, i: usize, c: Color) -> Color {
        let old = match &mut self.storage {
            Storage::Uniform(u) => {
                let old = *u;
                if old == c {
                    return old;
                }
                let mut p = Palette {
                    colors: vec![old, c],
                    counts: vec![CHUNK_VOLUME as u16 - 1, 1],
                    live: 2,
                    wide: false,
                    indices: vec![0u8; CHUNK_VOLUME / 2].into_boxed_slice(),
                };
                p.set_index(i, 1);
                self.storage = Storage::Palette(p);
                old
            }
            Storage::Palette(p) => {
                let oi = p.index(i);
                let old = p.colors[oi];
                if old == c {
                    return old;
                }
                match p.find_or_insert(c) {
                    Some(ni) => {
                        p.set_index(i, ni);
                        p.counts[oi] -= 1;
                        if p.counts[oi] == 0 {
                            p.live -= 1;
                        }
                        if p.counts[ni] == 0 {
                            p.live += 1;
                        }
                        p.counts[ni] += 1;
                        if p.live == 1 {
                            self.storage = Storage::Uniform(c);
                        }
                    }
                    None => {
                        self.widen();
                        self.set(i, c);
                        // `set` above already counted this write.
                        return old;
                    }
                }
                old
            }
            Storage::Direct(d) => {
                let old = d[i];
                if old == c {
                    return old;
                }
                d[i] = c;
                self.writes_since_pack = self.writes_since_pack.saturating_add(1);
                old
            }
        };
        if old.is_empty() {
            self.filled += 1;
        } else if c.is_empty() {
            self.filled -= 1;
        }
        self.invalidate();
        old
    }

    /// Sets every voxel to `c`; returns how many voxels changed.
    pub fn fill(&mut self, c: Color) -> u32 {
        let changed = self.count_not(c);
        if changed > 0 {
            *self = ChunkData::uniform(c);
        }
        changed
    }

    /// How many voxels differ from `c`.
    pub fn count_not(&self, c: Color) -> u32 {
        match &self.storage {
            Storage::Uniform(u) => {
                if *u == c {
                    0
                } else {
                    CHUNK_VOLUME as u32
                }
            }
            Storage::Palette(p) => p
                .colors
                .iter()
                .zip(&p.counts)
                .filter(|(x, _)| **x != c)
                .map(|(_, &n)| n as u32)
                .sum(),
            Storage::Direct(d) => d.iter().filter(|&&x| x != c).count() as u32,
        }
    }

    /// Non-empty voxels in the chunk.
    #[inline]
    pub fn filled(&self) -> u32 {
        self.filled as u32
    }

    /// Whether every voxel is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// The colour of every voxel, if the chunk is uniform.
    pub fn uniform_color(&self) -> Option<Color> {
        match &self.storage {
            Storage::Uniform(c) => Some(*c),
            _ => None,
        }
    }

    /// Moves to a smaller representation where one fits. Cheap unless a repack is due.
    pub fn normalize(&mut self) {
        let due = match &self.storage {
            Storage::Uniform(_) => false,
            Storage::Palette(p) => (p.wide && p.live <= 8) || p.live <= 1,
            Storage::Direct(_) => self.writes_since_pack >= REPACK_WRITES || self.filled == 0,
        };
        if due {
            self.repack();
        }
    }

    /// Rebuilds the smallest representation of the current content.
    fn repack(&mut self) {
        self.writes_since_pack = 0;
        let dense = self.to_dense();
        let first = dense[0];
        if dense.iter().all(|&c| c == first) {
            self.storage = Storage::Uniform(first);
            return;
        }
        if let Some(p) = Palette::from_dense(&dense) {
            self.storage = Storage::Palette(p);
        } else if !matches!(self.storage, Storage::Direct(_)) {
            self.storage = Storage::Direct(dense);
        }
    }

    fn widen(&mut self) {
        let dense = self.to_dense();
        match &mut self.storage {
            Storage::Palette(p) if !p.wide => {
                let mut idx = vec![0u8; CHUNK_VOLUME];
                for (i, v) in idx.iter_mut().enumerate() {
                    *v = p.index(i) as u8;
                }
                p.indices = idx.into_boxed_slice();
                p.wide = true;
            }
            _ => {
                self.storage = Storage::Direct(dense);
                self.writes_since_pack = 0;
            }
        }
    }

    fn invalidate(&mut self) {
        if self.digest.get().is_some() {
            self.digest = OnceLock::new();
        }
        if self.bounds.get().is_some() {
            self.bounds = OnceLock::new();
        }
    }

    /// All voxels, x-fastest.
    pub fn to_dense(&self) -> Box<[Color; CHUNK_VOLUME]> {
        match &self.storage {
            Storage::Uniform(c) => Box::new([*c; CHUNK_VOLUME]),
            Storage::Direct(d) => d.clone(),
            Storage::Palette(_) => {
                let mut out = Box::new([Color::EMPTY; CHUNK_VOLUME]);
                self.decode_into(&mut out);
                out
            }
        }
    }

    /// Writes all voxels, x-fastest, into `out`.
    pub fn decode_into(&self, out: &mut [Color; CHUNK_VOLUME]) {
        match &self.storage {
            Storage::Uniform(c) => out.fill(*c),
            Storage::Direct(d) => out.copy_from_slice(&d[..]),
            Storage::Palette(p) => {
                if p.wide {
                    let mut table = [Color::EMPTY; 256];
                    table[..p.colors.len()].copy_from_slice(&p.colors);
                    for (o, &ix) in out.iter_mut().zip(p.indices.iter()) {
                        *o = table[ix as usize];
                    }
                } else {
                    let mut table = [Color::EMPTY; 16];
                    table[..p.colors.len()].copy_from_slice(&p.colors);
                    for (pair, &b) in out.chunks_exact_mut(2).zip(p.indices.iter()) {
                        pair[0] = table[(b & 15) as usize];
                        pair[1] = table[(b >> 4) as usize];
                    }
                }
            }
        }
    }

    /// Writes `f(colour)` of every voxel, x-fastest, into `out`; reads palette indices without
    /// decoding colours where it can (`f` runs once per palette entry there).
    pub fn map_into(&self, mut f: impl FnMut(Color) -> u8, out: &mut [u8; CHUNK_VOLUME]) {
        match &self.storage {
            Storage::Uniform(c) => out.fill(f(*c)),
            Storage::Direct(d) => {
                for (o, &c) in out.iter_mut().zip(d.iter()) {
                    *o = f(c);
                }
            }
            Storage::Palette(p) => {
                if p.wide {
                    let mut table = [0u8; 256];
                    for (t, &c) in table.iter_mut().zip(&p.colors) {
                        *t = f(c);
                    }
                    for (o, &ix) in out.iter_mut().zip(p.indices.iter()) {
                        *o = table[ix as usize];
                    }
                } else {
                    let mut table = [0u8; 16];
                    for (t, &c) in table.iter_mut().zip(&p.colors) {
                        *t = f(c);
                    }
                    for (pair, &b) in out.chunks_exact_mut(2).zip(p.indices.iter()) {
                        pair[0] = table[(b & 15) as usize];
                        pair[1] = table[(b >> 4) as usize];
                    }
                }
            }
        }
    }

    /// Calls `f(local_index, colour)` for every non-empty voxel, in index order.
    pub fn for_each_filled(&self, mut f: impl FnMut(usize, Color)) {
        match &self.storage {
            Storage::Uniform(c) => {
                if !c.is_empty() {
                    (0..CHUNK_VOLUME).for_each(|i| f(i, *c));
                }
            }
            Storage::Palette(p) => {
                for i in 0..CHUNK_VOLUME {
                    let c = p.colors[p.index(i)];
                    if !c.is_empty() {
                        f(i, c);
                    }
                }
            }
            Storage::Direct(d) => {
                for (i, &c) in d.iter().enumerate() {
                    if !c.is_empty() {
                        f(i, c);
                    }
                }
            }
        }
    }

    /// Whether some voxel's colour (the empty colour included) satisfies `f`. Looks at the
    /// palette only, when there is one.
    pub fn any_color(&self, mut f: impl FnMut(Color) -> bool) -> bool {
        match &self.storage {
            Storage::Uniform(c) => f(*c),
            Storage::Palette(p) => p.colors.iter().zip(&p.counts).any(|(&c, &n)| n > 0 && f(c)),
            Storage::Direct(d) => {
                let mut last = None;
                d.iter().any(|&c| {
                    if last == Some(c) {
                        return false;
                    }
                    last = Some(c);
                    f(c)
                })
            }
        }
    }

    /// Non-empty voxel counts per colour (pairs in unspecified order).
    pub fn color_counts(&self, mut f: impl FnMut(Color, u32)) {
        match &self.storage {
            Storage::Uniform(c) => {
                if !c.is_empty() {
                    f(*c, CHUNK_VOLUME as u32)
                }
            }
            Storage::Palette(p) => {
                for (c, &n) in p.colors.iter().zip(&p.counts) {
                    if n > 0 && !c.is_empty() {
                        f(*c, n as u32)
                    }
                }
            }
            Storage::Direct(d) => {
                let mut counts: rustc_hash::FxHashMap<Color, u32> = Default::default();
                for &c in d.iter().filter(|c| !c.is_empty()) {
                    *counts.entry(c).or_default() += 1;
                }
                for (c, n) in counts {
                    f(c, n)
                }
            }
        }
    }

    /// BLAKE3 of the chunk's canonical bytes: 4096 × RGBA, x-fastest. Cached until the next write.
    pub fn digest(&self) -> [u8; 32] {
        *self.digest.get_or_init(|| {
            let mut bytes = [0u8; CHUNK_VOLUME * 4];
            match &self.storage {
                Storage::Uniform(c) => {
                    for px in bytes.chunks_exact_mut(4) {
                        px.copy_from_slice(&c.0);
                    }
                }
                _ => {
                    let dense = self.to_dense();
                    for (px, c) in bytes.chunks_exact_mut(4).zip(dense.iter()) {
                        px.copy_from_slice(&c.0);
                    }
                }
            }
            *blake3::hash(&bytes).as_bytes()
        })
    }

    /// Tight bounds of the non-empty voxels, in chunk-local coordinates. Cached.
    pub fn local_bounds(&self) -> Option<VoxelBox> {
        *self.bounds.get_or_init(|| {
            if self.is_empty() {
                return None;
            }
            if self.filled as usize == CHUNK_VOLUME {
                return Some(VoxelBox::of_chunk(IVec3::ZERO));
            }
            let mut b: Option<VoxelBox> = None;
            self.for_each_filled(|i, _| {
                let p = voxel_pos(IVec3::ZERO, i);
                match &mut b {
                    Some(b) => b.include(p),
                    None => b = Some(VoxelBox::point(p)),
                }
            });
            b
        })
    }

    /// Heap bytes this chunk owns (not counting the struct itself).
    pub fn heap_bytes(&self) -> usize {
        match &self.storage {
            Storage::Uniform(_) => 0,
            Storage::Palette(p) => {
                p.colors.capacity() * 4 + p.counts.capacity() * 2 + p.indices.len()
            }
            Storage::Direct(_) => CHUNK_VOLUME * 4,
        }
    }
}

impl PartialEq for ChunkData {
    /// Content equality, whatever the representation.
    fn eq(&self, other: &ChunkData) -> bool {
        if self.filled != other.filled {
            return false;
        }
        match (&self.storage, &other.storage) {
            (Storage::Uniform(a), Storage::Uniform(b)) => a == b,
            _ => (0..CHUNK_VOLUME).all(|i| self.get(i) == other.get(i)),
        }
    }
}

impl Eq for ChunkData {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_grows_and_shrinks_exactly() {
        let mut c = ChunkData::empty();
        for i in 0..300 {
            c.set(i, Color::rgb(i as u8, (i >> 8) as u8, 1));
        }
        assert_eq!(c.kind(), ChunkKind::Direct);
        assert_eq!(c.filled(), 300);
        assert_eq!(c.heap_bytes(), CHUNK_VOLUME * 4);
        for i in 0..300 {
            assert_eq!(c.get(i), Color::rgb(i as u8, (i >> 8) as u8, 1));
        }
        // A direct chunk is rescanned only after REPACK_WRITES writes (amortised).
        for i in 0..300 {
            c.set(i, Color::rgb(9, 9, 9));
        }
        c.normalize();
        assert_eq!(c.kind(), ChunkKind::Direct);
        for i in 300..REPACK_WRITES as usize + 300 {
            c.set(i, Color::rgb(9, 9, 9));
        }
        c.normalize();
        assert_eq!(c.kind(), ChunkKind::Palette4);
        for i in 0..REPACK_WRITES as usize + 300 {
            c.set(i, Color::EMPTY);
        }
        assert_eq!(c.kind(), ChunkKind::Uniform);
        assert!(c.is_empty());
    }

    #[test]
    fn fill_counts_changes() {
        let mut c = ChunkData::empty();
        c.set(5, Color::rgb(1, 2, 3));
        assert_eq!(c.fill(Color::rgb(1, 2, 3)), CHUNK_VOLUME as u32 - 1);
        assert_eq!(c.kind(), ChunkKind::Uniform);
        assert_eq!(c.filled() as usize, CHUNK_VOLUME);
    }

    #[test]
    fn two_colour_chunks_are_what_the_bits_say() {
        let mut bits = [0u8; CHUNK_VOLUME];
        for (i, b) in bits.iter_mut().enumerate() {
            *b = (i % 3 == 0) as u8;
        }
        let (a, b) = (Color::rgb(1, 2, 3), Color::EMPTY);
        let c = ChunkData::from_two_colors(&bits, b, a);
        let mut dense = [Color::EMPTY; CHUNK_VOLUME];
        for (i, d) in dense.iter_mut().enumerate() {
            *d = if bits[i] == 1 { a } else { b };
        }
        assert_eq!(c, ChunkData::from_dense(&dense));
        assert_eq!(c.filled(), 1366);
        assert_eq!(c.digest(), ChunkData::from_dense(&dense).digest());
        assert!(ChunkData::from_two_colors(&[0; CHUNK_VOLUME], b, a).is_empty());
        assert_eq!(
            ChunkData::from_two_colors(&[1; CHUNK_VOLUME], b, a).uniform_color(),
            Some(a)
        );
    }

    #[test]
    fn digest_is_representation_independent() {
        let mut a = ChunkData::empty();
        let mut b = ChunkData::empty();
        for i in 0..CHUNK_VOLUME {
            a.set(i, Color::rgb((i % 300) as u8, (i % 7) as u8, 0));
        }
        let dense = a.to_dense();
        for (i, c) in dense.iter().enumerate() {
            b.set(i, *c);
        }
        let c = ChunkData::from_dense(&dense);
        assert_eq!(a.digest(), b.digest());
        assert_eq!(a.digest(), c.digest());
        assert_eq!(a, c);
    }
}
