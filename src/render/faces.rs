//! Exposed faces: every voxel face that borders empty space and faces the camera, with its
//! colour and corner occlusion, found chunk by chunk.
//!
//! Each chunk is copied into an 18³ occupancy grid with a one-voxel border read from its 26
//! neighbours, so a face's exposure and its occlusion corners are array reads. A uniform full
//! chunk can only have faces on its sides, and only on sides whose neighbour chunk is not full,
//! so solid regions cost a few lookups per chunk instead of a visit per voxel. Chunks entirely
//! off screen are skipped.

use std::ops::Range;

use glam::IVec3;
use systems::coords::{CHUNK_SIZE, CHUNK_VOLUME};
use systems::{ChunkData, Color};

use super::camera::{NEAR, View};
use super::volume::Volume;

/// Edge of the padded occupancy grid.
const P: usize = CHUNK_SIZE as usize + 2;
const P3: usize = P * P * P;
/// Index strides of the padded grid along x, y, z.
const STRIDE: [isize; 3] = [1, P as isize, (P * P) as isize];

/// One visible voxel face.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Face {
    /// The voxel the face belongs to.
    pub pos: [i32; 3],
    /// RGBA of the voxel.
    pub color: [u8; 4],
    /// Occlusion of the corners (0 = darkest, 3 = open), in the order (0,0), (1,0), (0,1), (1,1)
    /// along the face's tangent axes ([`tangents`]).
    pub ao: [u8; 4],
    /// Direction of the outward normal: 0 +x, 1 −x, 2 +y, 3 −y, 4 +z, 5 −z.
    pub dir: u8,
}

impl Face {
    /// The axis the normal lies on.
    #[inline]
    pub(crate) fn axis(self) -> usize {
        (self.dir >> 1) as usize
    }

    /// The coordinate of the face's plane on its axis.
    #[inline]
    pub(crate) fn plane(self) -> i32 {
        self.pos[self.axis()] + i32::from(self.dir & 1 == 0)
    }
}

/// The two axes spanning a face whose normal lies on `axis`.
#[inline]
pub(crate) fn tangents(axis: usize) -> (usize, usize) {
    ((axis + 1) % 3, (axis + 2) % 3)
}

/// The faces of one chunk and the sample rows they may cover.
pub(crate) struct Batch {
    pub faces: Range<usize>,
    /// Inclusive range of sample rows the chunk's box covers on screen.
    pub rows: (i64, i64),
}

/// All visible faces, grouped by chunk in z, y, x order.
pub(crate) struct Faces {
    pub faces: Vec<Face>,
    pub batches: Vec<Batch>,
}

/// Finds the faces of `volume` that `view` can see.
pub(crate) fn find(volume: &Volume, view: &View) -> Faces {
    let mut out = Faces {
        faces: Vec::new(),
        batches: Vec::new(),
    };
    let mut occ = vec![0u8; P3];
    for &cpos in volume.order() {
        let Some(rows) = screen_rows(view, cpos) else {
            continue;
        };
        let data = volume.chunk(cpos).expect("listed chunk");
        let dirs = candidate_dirs(view, cpos);
        let start = out.faces.len();
        let full = data.filled() as usize == CHUNK_VOLUME;
        if full {
            let open: Vec<u8> = dirs
                .iter()
                .copied()
                .filter(|&d| {
                    let n = volume.chunk(cpos + normal(d));
                    n.is_none_or(|n| (n.filled() as usize) < CHUNK_VOLUME)
                })
                .collect();
            if open.is_empty() {
                continue;
            }
            let color = data.get(0).0;
            fill_padded(volume, cpos, data, None, &mut occ);
            for d in open {
                side_faces(view, cpos, d, color, &occ, &mut out.faces);
            }
        } else {
            let dense = data.to_dense();
            fill_padded(volume, cpos, data, Some(&dense), &mut occ);
            all_faces(view, cpos, &dirs, &dense, &occ, &mut out.faces);
        }
        if out.faces.len() > start {
            out.batches.push(Batch {
                faces: start..out.faces.len(),
                rows,
            });
        }
    }
    out
}

/// The outward normal of direction `d` as a vector.
fn normal(d: u8) -> IVec3 {
    let mut n = [0; 3];
    n[(d >> 1) as usize] = if d & 1 == 0 { 1 } else { -1 };
    IVec3::from_array(n)
}

/// Whether a face in direction `d` with its plane at `plane` faces the camera.
#[inline]
fn faces_camera(view: &View, d: u8, plane: i32) -> bool {
    let a = (d >> 1) as usize;
    let positive = d & 1 == 0;
    if view.perspective {
        let e = view.eye[a];
        if positive {
            e > plane as f64
        } else {
            e < plane as f64
        }
    } else if positive {
        view.forward[a] < 0.0
    } else {
        view.forward[a] > 0.0
    }
}

/// Directions some face of chunk `cpos` could show to the camera.
fn candidate_dirs(view: &View, cpos: IVec3) -> Vec<u8> {
    let lo = cpos * CHUNK_SIZE;
    (0..6u8)
        .filter(|&d| {
            let a = (d >> 1) as usize;
            // The extreme plane of this direction inside the chunk.
            let plane = if d & 1 == 0 {
                lo[a] + 1
            } else {
                lo[a] + CHUNK_SIZE - 1
            };
            faces_camera(view, d, plane)
        })
        .collect()
}

/// The sample rows chunk `cpos` may cover, or `None` when it is wholly off screen.
fn screen_rows(view: &View, cpos: IVec3) -> Option<(i64, i64)> {
    let lo = cpos * CHUNK_SIZE;
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    let mut behind = 0;
    for i in 0..8 {
        let p = [
            (lo.x + if i & 1 == 0 { 0 } else { CHUNK_SIZE }) as f64,
            (lo.y + if i & 2 == 0 { 0 } else { CHUNK_SIZE }) as f64,
            (lo.z + if i & 4 == 0 { 0 } else { CHUNK_SIZE }) as f64,
        ];
        let c = view.to_camera(p);
        if view.perspective && c[2] < NEAR {
            behind += 1;
            continue;
        }
        let (sx, sy) = view.to_screen(c);
        x0 = x0.min(sx);
        x1 = x1.max(sx);
        y0 = y0.min(sy);
        y1 = y1.max(sy);
    }
    let last = view.height as i64 - 1;
    match behind {
        8 => None,
        // Partly behind the eye: its projection is unbounded, keep every row.
        1..=7 => Some((0, last)),
        _ => {
            let (w, h) = (view.width as f64, view.height as f64);
            if x1 < -1.0 || x0 > w + 1.0 || y1 < -1.0 || y0 > h + 1.0 {
                return None;
            }
            let r0 = (y0.floor() as i64 - 1).max(0);
            let r1 = (y1.floor() as i64 + 1).min(last);
            Some((r0, r1))
        }
    }
}

/// Copies the occupancy of chunk `cpos` and a one-voxel border around it into `occ`.
fn fill_padded(
    volume: &Volume,
    cpos: IVec3,
    data: &ChunkData,
    dense: Option<&[Color; CHUNK_VOLUME]>,
    occ: &mut [u8],
) {
    occ.fill(0);
    let n = CHUNK_SIZE as usize;
    for oz in -1..=1 {
        for oy in -1..=1 {
            for ox in -1..=1 {
                let off = IVec3::new(ox, oy, oz);
                let chunk = if off == IVec3::ZERO {
                    Some(data)
                } else {
                    volume.chunk(cpos + off)
                };
                let Some(chunk) = chunk else {
                    continue;
                };
                // Padded range and the chunk-local coordinate of its first cell, per axis.
                let span = |o: i32| -> (usize, usize, usize) {
                    match o {
                        -1 => (0, 1, n - 1),
                        0 => (1, n + 1, 0),
                        _ => (n + 1, n + 2, 0),
                    }
                };
                let (sx, ex, lx) = span(ox);
                let (sy, ey, ly) = span(oy);
                let (sz, ez, lz) = span(oz);
                let full = chunk.filled() as usize == CHUNK_VOLUME;
                for z in sz..ez {
                    for y in sy..ey {
                        let row = z * P * P + y * P;
                        if full {
                            occ[row + sx..row + ex].fill(1);
                            continue;
                        }
                        let local = (lz + z - sz) * n * n + (ly + y - sy) * n + lx;
                        for x in sx..ex {
                            let i = local + x - sx;
                            let c = match (off == IVec3::ZERO, dense) {
                                (true, Some(d)) => d[i],
                                _ => chunk.get(i),
                            };
                            occ[row + x] = u8::from(!c.is_empty());
                        }
                    }
                }
            }
        }
    }
}

/// Pushes the face of the voxel at padded index `p` (world position `pos`) in direction `d`.
#[inline]
fn push_face(occ: &[u8], p: usize, pos: [i32; 3], d: u8, color: [u8; 4], out: &mut Vec<Face>) {
    let a = (d >> 1) as usize;
    let n = if d & 1 == 0 { STRIDE[a] } else { -STRIDE[a] };
    let (u, v) = tangents(a);
    let (su, sv) = (STRIDE[u], STRIDE[v]);
    let q = p as isize + n;
    let at = |o: isize| occ[(q + o) as usize];
    let corner = |du: isize, dv: isize| -> u8 {
        let s1 = at(du);
        let s2 = at(dv);
        if s1 & s2 != 0 {
            0
        } else {
            3 - s1 - s2 - at(du + dv)
        }
    };
    out.push(Face {
        pos,
        color,
        ao: [
            corner(-su, -sv),
            corner(su, -sv),
            corner(-su, sv),
            corner(su, sv),
        ],
        dir: d,
    });
}

/// Faces of a full uniform chunk on its side `d` (whose neighbour chunk is not full).
fn side_faces(view: &View, cpos: IVec3, d: u8, color: [u8; 4], occ: &[u8], out: &mut Vec<Face>) {
    let a = (d >> 1) as usize;
    let (u, v) = tangents(a);
    let layer = if d & 1 == 0 { CHUNK_SIZE - 1 } else { 0 };
    let n = if d & 1 == 0 { STRIDE[a] } else { -STRIDE[a] };
    let origin = cpos * CHUNK_SIZE;
    for j in 0..CHUNK_SIZE {
        for i in 0..CHUNK_SIZE {
            let mut l = [0i32; 3];
            l[a] = layer;
            l[u] = i;
            l[v] = j;
            let p = padded(l);
            if occ[(p as isize + n) as usize] != 0 {
                continue;
            }
            let pos = (origin + IVec3::from_array(l)).to_array();
            if view.perspective && !faces_camera(view, d, pos[a] + i32::from(d & 1 == 0)) {
                continue;
            }
            push_face(occ, p, pos, d, color, out);
        }
    }
}

/// Faces of every voxel of a chunk that is not full, in directions `dirs`.
fn all_faces(
    view: &View,
    cpos: IVec3,
    dirs: &[u8],
    dense: &[Color; CHUNK_VOLUME],
    occ: &[u8],
    out: &mut Vec<Face>,
) {
    let origin = cpos * CHUNK_SIZE;
    let offsets: Vec<(u8, isize)> = dirs
        .iter()
        .map(|&d| {
            let a = (d >> 1) as usize;
            (d, if d & 1 == 0 { STRIDE[a] } else { -STRIDE[a] })
        })
        .collect();
    for (i, c) in dense.iter().enumerate() {
        if c.is_empty() {
            continue;
        }
        let l = [(i & 15) as i32, ((i >> 4) & 15) as i32, (i >> 8) as i32];
        let p = padded(l);
        for &(d, n) in &offsets {
            if occ[(p as isize + n) as usize] != 0 {
                continue;
            }
            let pos = (origin + IVec3::from_array(l)).to_array();
            let a = (d >> 1) as usize;
            if view.perspective && !faces_camera(view, d, pos[a] + i32::from(d & 1 == 0)) {
                continue;
            }
            push_face(occ, p, pos, d, c.0, out);
        }
    }
}

/// The padded-grid index of chunk-local coordinates `l`.
#[inline]
fn padded(l: [i32; 3]) -> usize {
    (l[0] + 1) as usize + (l[1] + 1) as usize * P + (l[2] + 1) as usize * P * P
}
