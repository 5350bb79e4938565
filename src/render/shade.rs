//! Turning depth and face-id buffers into colours: face light, interpolated corner occlusion,
//! the outline, and the box filter of supersampling. Work happens band by band of rows, so an
//! 8192² picture needs buffers for a few million samples at a time, not for all of it.

use super::RenderRequest;
use super::camera::View;
use super::faces::{self, Face, Faces};
use super::raster::{self, Band, DepthEq, NONE};
use super::volume::Volume;

/// Samples per band, about 32 MB of depth and id buffers.
const BAND_SAMPLES: usize = 1 << 22;

/// Light of each face direction (+x, −x, +y, −y, +z, −z): the top brightest, the bottom
/// darkest, and each side its own, so the three faces of the isometric view all differ.
const LIGHT: [f64; 6] = [0.74, 0.86, 0.80, 0.90, 1.0, 0.62];
/// Brightness of a face corner by occlusion level (0 = both sides blocked, 3 = open).
const AO: [f64; 4] = [0.56, 0.70, 0.85, 1.0];
/// Brightness of outline samples.
const OUTLINE: f64 = 0.55;

/// Renders the picture of `volume` through `view` (at `supersample`× the request's size).
pub(crate) fn draw(
    volume: &Volume,
    view: &View,
    req: &RenderRequest,
    supersample: usize,
) -> Vec<u8> {
    draw_in_bands(volume, view, req, supersample, BAND_SAMPLES)
}

/// [`draw`] with bands of about `band_samples` samples (tests use small bands).
pub(crate) fn draw_in_bands(
    volume: &Volume,
    view: &View,
    req: &RenderRequest,
    supersample: usize,
    band_samples: usize,
) -> Vec<u8> {
    let (w, h) = (req.width as usize, req.height as usize);
    let mut out = vec![0u8; w * h * 4];
    let faces = faces::find(volume, view);
    let (sw, sh) = (view.width, view.height);
    let band_rows = (band_samples / sw / supersample).max(1) * supersample;
    let mut band = Band::new(sw);
    let mut samples = vec![0u8; sw * band_rows.min(sh) * 4];
    let mut r0 = 0;
    while r0 < sh {
        let r1 = (r0 + band_rows).min(sh);
        // One row of halo on each side, for the outline test.
        let (h0, h1) = (r0.saturating_sub(1), (r1 + 1).min(sh));
        band.reset(h0, h1 - h0);
        raster::rasterize(&faces, view, &mut band);
        let shader = Shader {
            view,
            faces: &faces,
            band: &band,
            background: req.background,
            outline: req.outline,
        };
        for j in r0..r1 {
            let row = &mut samples[(j - r0) * sw * 4..(j - r0 + 1) * sw * 4];
            shader.row(j, row);
        }
        downsample(
            &samples[..(r1 - r0) * sw * 4],
            sw,
            supersample,
            &mut out[r0 / supersample * w * 4..r1 / supersample * w * 4],
        );
        r0 = r1;
    }
    out
}

struct Shader<'a> {
    view: &'a View,
    faces: &'a Faces,
    band: &'a Band,
    background: [u8; 4],
    outline: bool,
}

impl Shader<'_> {
    /// Shades sample row `j` into `out` (RGBA per sample).
    fn row(&self, j: usize, out: &mut [u8]) {
        let band = self.band;
        let base = (j - band.row0) * band.width;
        for (i, px) in out.chunks_exact_mut(4).enumerate() {
            let id = band.ids[base + i];
            if id == NONE {
                px.copy_from_slice(&self.background);
                continue;
            }
            let face = self.faces.faces[id as usize];
            let mut k = LIGHT[face.dir as usize] * self.occlusion(face, i, j);
            if self.outline && self.is_edge(face, base + i, i, j) {
                k *= OUTLINE;
            }
            for (out, &c) in px.iter_mut().zip(&face.color[..3]) {
                *out = (c as f64 * k + 0.5).floor().min(255.0) as u8;
            }
            px[3] = 255;
        }
    }

    /// The corner occlusion of `face` interpolated at sample (`i`, `j`).
    #[inline]
    fn occlusion(&self, face: Face, i: usize, j: usize) -> f64 {
        if face.ao == [3; 4] {
            return 1.0;
        }
        let view = self.view;
        let (fi, fj) = (i as f64, j as f64);
        let t = DepthEq::new(view, face).at(fi, fj);
        let (u, v) = faces::tangents(face.axis());
        let along = |axis: usize| {
            let o = view.o0[axis] + fj * view.oy[axis] + fi * view.ox[axis];
            let d = view.d0[axis] + fj * view.dy[axis] + fi * view.dx[axis];
            (o + t * d - face.pos[axis] as f64).clamp(0.0, 1.0)
        };
        let (fu, fv) = (along(u), along(v));
        let ao = face.ao.map(|a| AO[a as usize]);
        let bottom = ao[0] + (ao[1] - ao[0]) * fu;
        let top = ao[2] + (ao[3] - ao[2]) * fu;
        bottom + (top - bottom) * fv
    }

    /// Whether the sample at band index `k` = (`i`, `j`) lies on the near side of a break: a
    /// 4-neighbour shows the background, or another face plane that is farther away.
    fn is_edge(&self, face: Face, k: usize, i: usize, j: usize) -> bool {
        let band = self.band;
        let depth = band.depth[k];
        let mut neighbours = [None; 4];
        if i > 0 {
            neighbours[0] = Some(k - 1);
        }
        if i + 1 < band.width {
            neighbours[1] = Some(k + 1);
        }
        if j > band.row0 {
            neighbours[2] = Some(k - band.width);
        }
        if j + 1 < band.row0 + band.rows {
            neighbours[3] = Some(k + band.width);
        }
        neighbours.into_iter().flatten().any(|n| {
            let id = band.ids[n];
            if id == NONE {
                return true;
            }
            let other = self.faces.faces[id as usize];
            (other.dir != face.dir || other.plane() != face.plane()) && band.depth[n] > depth
        })
    }
}

/// Box-filters `samples` (rows of `sw` RGBA samples) by `factor` into `out`, weighting colour by
/// alpha so a transparent background does not darken edges.
fn downsample(samples: &[u8], sw: usize, factor: usize, out: &mut [u8]) {
    if factor == 1 {
        out.copy_from_slice(samples);
        return;
    }
    let w = sw / factor;
    let n = (factor * factor) as u32;
    for (oy, orow) in out.chunks_exact_mut(w * 4).enumerate() {
        for (ox, px) in orow.chunks_exact_mut(4).enumerate() {
            let (mut r, mut g, mut b, mut a) = (0u32, 0u32, 0u32, 0u32);
            let mut first = [0u8; 4];
            for sy in 0..factor {
                let row = (oy * factor + sy) * sw;
                for sx in 0..factor {
                    let s = &samples[(row + ox * factor + sx) * 4..][..4];
                    if sy == 0 && sx == 0 {
                        first.copy_from_slice(s);
                    }
                    let sa = s[3] as u32;
                    r += s[0] as u32 * sa;
                    g += s[1] as u32 * sa;
                    b += s[2] as u32 * sa;
                    a += sa;
                }
            }
            if a == 0 {
                px.copy_from_slice(&first);
                continue;
            }
            px[0] = ((r + a / 2) / a) as u8;
            px[1] = ((g + a / 2) / a) as u8;
            px[2] = ((b + a / 2) / a) as u8;
            px[3] = ((a + n / 2) / n) as u8;
        }
    }
}
