//! Greedy meshing of the visible world: the quads that [`super::obj`] and [`super::ply`] write.
//!
//! The world is meshed one chunk at a time. Each chunk's visible voxels (the visible layers
//! merged, the highest order winning, as [`WorldSnapshot::merged_voxel`]) are copied into a
//! padded 18³ grid whose border holds the facing plane of each of the six neighbour chunks, so
//! culling across chunk borders needs no per-voxel lookups. Every slice of the chunk, for each
//! of the six face directions, then becomes a 16×16 mask of exposed faces, which is covered by
//! maximal rectangles of one colour.
//!
//! Faces merge within a chunk only: a face never spans a chunk border, which keeps every quad
//! at most 16×16 and the work per chunk independent of its neighbours. A uniform chunk (the
//! common case inside large solids) only looks at its six boundary slices, so a solid box
//! costs its surface, not its volume.
//!
//! A face of voxel `c` towards neighbour `n` is kept when `n` is empty, or when `n` is
//! semi-transparent (alpha < 255) and of another colour: glass shows what lies behind it, while
//! a block of one glass colour has no faces inside. Opaque voxels hide every face against them.

use glam::IVec3;
use rustc_hash::FxHashSet;
use systems::coords::{CHUNK_SIZE, zyx_key};
use systems::{ChunkData, Color, LayerSnapshot, WorldSnapshot};

/// Edge of a chunk, in voxels, as an index.
const N: usize = CHUNK_SIZE as usize;
/// Edge of the padded grid: a chunk and one plane of each neighbour.
const P: usize = N + 2;
/// Grid index steps along x, y and z.
const STRIDE: [usize; 3] = [1, P, P * P];
/// Grid index of chunk-local (0, 0, 0).
const BASE: usize = 1 + P + P * P;

/// The six face directions, in the order the normals are written: +x, −x, +y, −y, +z, −z.
pub(crate) const NORMALS: [[i32; 3]; 6] = [
    [1, 0, 0],
    [-1, 0, 0],
    [0, 1, 0],
    [0, -1, 0],
    [0, 0, 1],
    [0, 0, -1],
];

/// Whether face direction `face` points along its axis (+x, +y, +z) rather than against it.
#[inline]
fn is_positive(face: usize) -> bool {
    face & 1 == 0
}

/// One merged face: a rectangle of one colour on a voxel boundary plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quad {
    /// The corner with the smallest coordinates, in voxel-corner units.
    pub origin: [i32; 3],
    /// Extent along the face's first tangent axis (`(axis + 1) % 3`).
    pub width: u16,
    /// Extent along the face's second tangent axis (`(axis + 2) % 3`).
    pub height: u16,
    /// Direction the face looks to, an index into [`NORMALS`].
    pub face: u8,
    /// Colour of the voxel the face belongs to.
    pub color: Color,
}

impl Quad {
    /// The four corners, counter-clockwise seen from outside (from the side the normal points
    /// to).
    pub fn corners(&self) -> [[i32; 3]; 4] {
        let axis = self.face as usize / 2;
        let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
        let o = self.origin;
        let mut a = o;
        a[u] += self.width as i32;
        let mut b = a;
        b[v] += self.height as i32;
        let mut c = o;
        c[v] += self.height as i32;
        // u × v points along +axis, so (o, o+u, o+u+v, o+v) turns counter-clockwise about +axis.
        if is_positive(self.face as usize) {
            [o, a, b, c]
        } else {
            [o, c, b, a]
        }
    }
}

/// The mesh of a world's visible voxels and what it holds.
#[derive(Debug, Default)]
pub(crate) struct Mesh {
    /// Faces in chunk order (z, y, x), then direction, slice and row.
    pub quads: Vec<Quad>,
    /// Visible voxels (after merging layers).
    pub voxel_count: u64,
    /// Distinct colours among the visible voxels.
    pub color_count: u64,
}

/// Meshes the visible layers of `world`.
pub(crate) fn mesh_world(world: &WorldSnapshot) -> Mesh {
    let layers: Vec<&LayerSnapshot> = world.layers_top_down().filter(|l| l.visible).collect();
    let mut positions: Vec<IVec3> = layers
        .iter()
        .flat_map(|l| l.chunks_sorted().into_iter().map(|(p, _)| p))
        .collect();
    positions.sort_unstable_by_key(|p| zyx_key(*p));
    positions.dedup();
    let mut mesher = Mesher {
        layers,
        grid: vec![0; P * P * P].into_boxed_slice(),
        mask: [0; N * N],
        stack: Vec::new(),
        colors: FxHashSet::default(),
        mesh: Mesh::default(),
    };
    for pos in positions {
        mesher.chunk(pos);
    }
    let mut mesh = mesher.mesh;
    mesh.color_count = mesher.colors.len() as u64;
    mesh
}

/// The working state of [`mesh_world`], reused from chunk to chunk.
struct Mesher<'a> {
    /// Visible layers, highest order first.
    layers: Vec<&'a LayerSnapshot>,
    /// Packed colours (0 = empty) of a chunk and the facing planes of its neighbours.
    grid: Box<[u32]>,
    /// Colours of the exposed faces of one slice (0 = no face), row-major in (v, u).
    mask: [u32; N * N],
    /// The non-empty chunks at one position, top layer first.
    stack: Vec<&'a ChunkData>,
    /// Distinct visible colours seen so far.
    colors: FxHashSet<u32>,
    mesh: Mesh,
}

fn pack(c: Color) -> u32 {
    u32::from_le_bytes(c.0)
}

fn unpack(c: u32) -> Color {
    Color(c.to_le_bytes())
}

/// The visible colour at local index `i` through a stack of chunks, top first.
#[inline]
fn merged_at(stack: &[&ChunkData], i: usize) -> u32 {
    for chunk in stack {
        let c = chunk.get(i);
        if !c.is_empty() {
            return pack(c);
        }
    }
    0
}

/// Whether a voxel of colour `c` shows its face towards a neighbour of colour `n`.
#[inline]
fn exposed(c: u32, n: u32) -> bool {
    n == 0 || (n >> 24 != 255 && n != c)
}

impl<'a> Mesher<'a> {
    /// Fills `self.stack` with the non-empty chunks at `pos`, top layer first.
    fn load_stack(&mut self, pos: IVec3) {
        self.stack.clear();
        for layer in &self.layers {
            if let Some(chunk) = layer.chunk(pos).filter(|c| !c.is_empty()) {
                self.stack.push(chunk);
            }
        }
    }

    /// The colour of the whole stack when its top chunk is uniform (it hides everything below).
    fn stack_uniform(&self) -> Option<u32> {
        self.stack
            .first()
            .and_then(|c| c.uniform_color())
            .filter(|c| !c.is_empty())
            .map(pack)
    }

    fn chunk(&mut self, pos: IVec3) {
        self.load_stack(pos);
        if self.stack.is_empty() {
            return;
        }
        let uniform = self.stack_uniform();
        if let Some(c) = uniform {
            for z in 0..N {
                for y in 0..N {
                    let g = BASE + y * STRIDE[1] + z * STRIDE[2];
                    self.grid[g..g + N].fill(c);
                }
            }
            self.mesh.voxel_count += (N * N * N) as u64;
            self.colors.insert(c);
        } else {
            let mut last = 0;
            let mut i = 0;
            for z in 0..N {
                for y in 0..N {
                    let g = BASE + y * STRIDE[1] + z * STRIDE[2];
                    for x in 0..N {
                        let c = merged_at(&self.stack, i);
                        self.grid[g + x] = c;
                        if c != 0 {
                            self.mesh.voxel_count += 1;
                            if c != last {
                                self.colors.insert(c);
                                last = c;
                            }
                        }
                        i += 1;
                    }
                }
            }
        }
        for face in 0..6 {
            self.load_neighbour_plane(pos, face);
        }
        let origin = pos * CHUNK_SIZE;
        for face in 0..6 {
            let positive = is_positive(face);
            // Inside a uniform chunk every voxel hides its neighbour: only the slice against
            // the neighbour chunk can show faces.
            let slices = match (uniform, positive) {
                (None, _) => 0..N,
                (Some(_), true) => N - 1..N,
                (Some(_), false) => 0..1,
            };
            for k in slices {
                if self.build_mask(face, k) {
                    self.greedy(face, k, origin);
                }
            }
        }
    }

    /// Copies into the grid border the plane of the neighbour chunk that faces this chunk
    /// across `face`.
    fn load_neighbour_plane(&mut self, pos: IVec3, face: usize) {
        let axis = face / 2;
        let positive = is_positive(face);
        let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
        self.load_stack(pos + IVec3::from_array(NORMALS[face]));
        // The neighbour's plane touching this chunk, and where it sits in the padded grid.
        let (src, dst) = if positive { (0, P - 1) } else { (N - 1, 0) };
        let uniform = if self.stack.is_empty() {
            Some(0)
        } else {
            self.stack_uniform()
        };
        for b in 0..N {
            for a in 0..N {
                let mut g = [0; 3];
                g[axis] = dst;
                g[u] = a + 1;
                g[v] = b + 1;
                let g = g[0] + g[1] * STRIDE[1] + g[2] * STRIDE[2];
                self.grid[g] = match uniform {
                    Some(c) => c,
                    None => {
                        let mut l = [0; 3];
                        l[axis] = src;
                        l[u] = a;
                        l[v] = b;
                        merged_at(&self.stack, l[0] + l[1] * N + l[2] * N * N)
                    }
                };
            }
        }
    }

    /// Fills the mask with the exposed faces of slice `k` looking along `face`; false when the
    /// slice shows none.
    fn build_mask(&mut self, face: usize, k: usize) -> bool {
        let axis = face / 2;
        let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
        let step = STRIDE[axis];
        let start = BASE + k * step;
        let mut any = false;
        for b in 0..N {
            let row = start + b * STRIDE[v];
            for a in 0..N {
                let g = row + a * STRIDE[u];
                let c = self.grid[g];
                let n = if is_positive(face) {
                    self.grid[g + step]
                } else {
                    self.grid[g - step]
                };
                let m = if c != 0 && exposed(c, n) { c } else { 0 };
                self.mask[b * N + a] = m;
                any |= m != 0;
            }
        }
        any
    }

    /// Covers the mask with maximal rectangles of one colour, row by row, and emits them.
    fn greedy(&mut self, face: usize, k: usize, origin: IVec3) {
        let axis = face / 2;
        let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
        let mask = &mut self.mask;
        for b in 0..N {
            let mut a = 0;
            while a < N {
                let c = mask[b * N + a];
                if c == 0 {
                    a += 1;
                    continue;
                }
                let mut w = 1;
                while a + w < N && mask[b * N + a + w] == c {
                    w += 1;
                }
                let mut h = 1;
                while b + h < N
                    && mask[(b + h) * N + a..(b + h) * N + a + w]
                        .iter()
                        .all(|&m| m == c)
                {
                    h += 1;
                }
                for row in b..b + h {
                    mask[row * N + a..row * N + a + w].fill(0);
                }
                let mut o = origin.to_array();
                o[axis] += k as i32 + i32::from(is_positive(face));
                o[u] += a as i32;
                o[v] += b as i32;
                self.mesh.quads.push(Quad {
                    origin: o,
                    width: w as u16,
                    height: h as u16,
                    face: face as u8,
                    color: unpack(c),
                });
                a += w;
            }
        }
    }
}
