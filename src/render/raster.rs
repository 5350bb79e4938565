//! Filling the depth and face-id buffers of one band of sample rows.
//!
//! Face corners are projected and rounded to fixed point (1/256 sample); coverage is decided by
//! exact integer edge functions with a tie rule that gives a sample on an edge shared by two faces
//! to exactly one of them, so neighbouring faces leave no gaps and no double hits. Depth is not
//! interpolated from the corners but computed per sample from the face's plane and the sample's
//! ray, the same formula the shader uses later.

use super::camera::{NEAR, View};
use super::faces::{Face, Faces, tangents};

/// The id of a sample no face covers.
pub(crate) const NONE: u32 = u32::MAX;

/// Sub-sample precision of projected corners (8 bits).
const SUB: i64 = 256;
const HALF: i64 = SUB / 2;
/// Projected corners are clamped to ±2²¹ samples, so edge functions fit in an i64.
const LIMIT: f64 = (1i64 << 29) as f64;

/// The depth and front face of each sample of rows `row0 .. row0 + rows`.
pub(crate) struct Band {
    pub width: usize,
    pub row0: usize,
    pub rows: usize,
    pub depth: Vec<f32>,
    pub ids: Vec<u32>,
}

impl Band {
    pub(crate) fn new(width: usize) -> Band {
        Band {
            width,
            row0: 0,
            rows: 0,
            depth: Vec::new(),
            ids: Vec::new(),
        }
    }

    /// Clears the band to cover rows `row0 .. row0 + rows`.
    pub(crate) fn reset(&mut self, row0: usize, rows: usize) {
        self.row0 = row0;
        self.rows = rows;
        let n = self.width * rows;
        self.depth.clear();
        self.depth.resize(n, f32::INFINITY);
        self.ids.clear();
        self.ids.resize(n, NONE);
    }
}

/// The depth of a face's plane along the rays of the view: `t(i, j) = num / den` with both
/// affine in the sample coordinates.
#[derive(Clone, Copy)]
pub(crate) struct DepthEq {
    n0: f64,
    nx: f64,
    ny: f64,
    q0: f64,
    qx: f64,
    qy: f64,
}

impl DepthEq {
    #[inline]
    pub(crate) fn new(view: &View, face: Face) -> DepthEq {
        let a = face.axis();
        DepthEq {
            n0: face.plane() as f64 - view.o0[a],
            nx: -view.ox[a],
            ny: -view.oy[a],
            q0: view.d0[a],
            qx: view.dx[a],
            qy: view.dy[a],
        }
    }

    /// Depth at sample (`i`, `j`).
    #[inline]
    pub(crate) fn at(&self, i: f64, j: f64) -> f64 {
        (self.n0 + j * self.ny + i * self.nx) / (self.q0 + j * self.qy + i * self.qx)
    }
}

/// Draws every face of `faces` that may touch `band`.
pub(crate) fn rasterize(faces: &Faces, view: &View, band: &mut Band) {
    let (lo, hi) = (band.row0 as i64, (band.row0 + band.rows) as i64 - 1);
    for batch in &faces.batches {
        if batch.rows.1 < lo || batch.rows.0 > hi {
            continue;
        }
        for id in batch.faces.clone() {
            draw_face(view, faces.faces[id], id as u32, band);
        }
    }
}

fn draw_face(view: &View, face: Face, id: u32, band: &mut Band) {
    let a = face.axis();
    let (u, v) = tangents(a);
    let mut base = face.pos;
    base[a] = face.plane();
    let corner = |du: i32, dv: i32| {
        let mut p = base;
        p[u] += du;
        p[v] += dv;
        view.to_camera([p[0] as f64, p[1] as f64, p[2] as f64])
    };
    let quad = [corner(0, 0), corner(1, 0), corner(1, 1), corner(0, 1)];
    let mut poly = [(0i64, 0i64); 5];
    let mut n = 0;
    let mut push = |c: [f64; 3]| {
        let (sx, sy) = view.to_screen(c);
        let p = (fix(sx), fix(sy));
        if n == 0 || poly[n - 1] != p {
            poly[n] = p;
            n += 1;
        }
    };
    if view.perspective && quad.iter().any(|c| c[2] < NEAR) {
        // Clip against the near plane (one Sutherland–Hodgman pass).
        for k in 0..4 {
            let (p, q) = (quad[k], quad[(k + 1) % 4]);
            let (pin, qin) = (p[2] >= NEAR, q[2] >= NEAR);
            if pin {
                push(p);
            }
            if pin != qin {
                let s = (NEAR - p[2]) / (q[2] - p[2]);
                push([p[0] + (q[0] - p[0]) * s, p[1] + (q[1] - p[1]) * s, NEAR]);
            }
        }
    } else {
        for c in quad {
            push(c);
        }
    }
    if n > 1 && poly[n - 1] == poly[0] {
        n -= 1;
    }
    if n < 3 {
        return;
    }
    fill(&mut poly[..n], DepthEq::new(view, face), id, band);
}

/// A sample coordinate in fixed point, clamped.
#[inline]
fn fix(v: f64) -> i64 {
    let s = (v * SUB as f64).clamp(-LIMIT, LIMIT);
    (s + 0.5).floor() as i64
}

/// Fills the samples inside the convex polygon `poly` where the face is nearest so far.
fn fill(poly: &mut [(i64, i64)], depth: DepthEq, id: u32, band: &mut Band) {
    let n = poly.len();
    let mut area = 0i64;
    for k in 0..n {
        let (a, b) = (poly[k], poly[(k + 1) % n]);
        area += a.0 * b.1 - b.0 * a.1;
    }
    if area == 0 {
        return;
    }
    if area < 0 {
        poly.reverse();
    }
    let (mut x0, mut x1, mut y0, mut y1) = (i64::MAX, i64::MIN, i64::MAX, i64::MIN);
    for &(x, y) in poly.iter() {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    // Samples whose centre (SUB·i + HALF) lies in the box.
    let i0 = ceil_div(x0 - HALF, SUB).max(0);
    let i1 = (x1 - HALF).div_euclid(SUB).min(band.width as i64 - 1);
    let j0 = ceil_div(y0 - HALF, SUB).max(band.row0 as i64);
    let j1 = (y1 - HALF)
        .div_euclid(SUB)
        .min((band.row0 + band.rows) as i64 - 1);
    if i0 > i1 || j0 > j1 {
        return;
    }
    // Edge k: E(p) = ea·(px − ax) + eb·(py − ay) ≥ bias inside. A sample exactly on an edge
    // (E = 0) belongs to the polygon whose edge has ea > 0, or ea = 0 and eb > 0; the same edge
    // seen from the neighbouring polygon has both signs flipped, so exactly one polygon owns it.
    let mut edges = [(0i64, 0i64, 0i64, 0i64); 5];
    for k in 0..n {
        let (a, b) = (poly[k], poly[(k + 1) % n]);
        let ea = -(b.1 - a.1);
        let eb = b.0 - a.0;
        let bias = if ea > 0 || (ea == 0 && eb > 0) { 0 } else { 1 };
        edges[k] = (ea, eb, ea * (SUB * i0 + HALF - a.0) - bias, a.1);
    }
    let edges = &edges[..n];
    for j in j0..=j1 {
        let py = SUB * j + HALF;
        let (mut lo, mut hi) = (i0, i1);
        for &(ea, eb, w0x, ay) in edges {
            // w(i) = w0 + s·(i − i0) must be ≥ 0.
            let w0 = w0x + eb * (py - ay);
            let s = ea * SUB;
            if s > 0 {
                lo = lo.max(i0 + ceil_div(-w0, s));
            } else if s < 0 {
                hi = hi.min(i0 + w0.div_euclid(-s));
            } else if w0 < 0 {
                hi = lo - 1;
            }
        }
        if lo > hi {
            continue;
        }
        let jf = j as f64;
        let row = (j as usize - band.row0) * band.width;
        for i in lo..=hi {
            let t = depth.at(i as f64, jf) as f32;
            let k = row + i as usize;
            if t < band.depth[k] {
                band.depth[k] = t;
                band.ids[k] = id;
            }
        }
    }
}

#[inline]
fn ceil_div(a: i64, b: i64) -> i64 {
    -((-a).div_euclid(b))
}
