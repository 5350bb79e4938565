//! From a [`Camera`] to the numbers the rasteriser uses: a camera frame, the projection of world
//! points to sample coordinates, and the ray through each sample.
//!
//! Screen coordinates are in samples (pixels times the supersampling factor), x to the right and
//! y down, with sample (i, j) centred at (i + ½, j + ½). Depth `t` is the distance along the view
//! direction: from a plane behind the model for orthographic views, from the eye for perspective
//! ones. The ray of sample (i, j) is `o + t·d` with `o = o0 + i·ox + j·oy` and
//! `d = d0 + i·dx + j·dy`: orthographic rays move their origin, perspective rays their direction,
//! and in both `d` has a forward component of 1, so `t` is the same depth the rasteriser compares.

use glam::DVec3;
use systems::VoxelBox;

use super::{Camera, MARGIN, Projection, RenderError};

/// The near clipping distance of perspective cameras, in voxels.
pub const NEAR: f64 = 0.01;

/// A ready camera for one image size.
#[derive(Clone, Debug)]
pub(crate) struct View {
    /// Image size in samples.
    pub width: usize,
    pub height: usize,
    pub perspective: bool,
    /// Camera-space coordinates as affine functions of world space, one row per axis (right, up,
    /// forward): `row[0]·x + row[1]·y + row[2]·z + row[3]`.
    frame: [[f64; 4]; 3],
    /// Samples per world unit (orthographic) or the focal length in samples (perspective).
    scale: f64,
    /// The sample coordinates of the view axis.
    cx: f64,
    cy: f64,
    /// Ray of sample (i, j): origin `o0 + i·ox + j·oy`, direction `d0 + i·dx + j·dy`.
    pub o0: [f64; 3],
    pub ox: [f64; 3],
    pub oy: [f64; 3],
    pub d0: [f64; 3],
    pub dx: [f64; 3],
    pub dy: [f64; 3],
    /// The camera position (perspective), for back-face tests.
    pub eye: [f64; 3],
    /// The view direction, for back-face tests of orthographic views.
    pub forward: [f64; 3],
}

impl View {
    /// The view of `camera` for a `width × height` sample image of a model in `bounds`.
    pub(crate) fn new(
        camera: &Camera,
        bounds: Option<VoxelBox>,
        width: usize,
        height: usize,
    ) -> Result<View, RenderError> {
        let (w, h) = (width as f64, height as f64);
        match *camera {
            Camera::Preset(p) => {
                let (dir, up) = p.direction_and_up();
                let (r, u, f) = basis(dir, up)?;
                Ok(View::orthographic(r, u, f, bounds, None, width, height))
            }
            Camera::Explicit {
                position,
                target,
                up,
                projection,
            } => {
                let (r, u, f) = basis(target - position, up)?;
                match projection {
                    Projection::Orthographic { height: None } => {
                        Ok(View::orthographic(r, u, f, bounds, None, width, height))
                    }
                    Projection::Orthographic { height: Some(span) } => {
                        if !(span.is_finite() && span > 0.0) {
                            return Err(RenderError::Camera("orthographic height must be > 0"));
                        }
                        let centre = (target.dot(r), target.dot(u));
                        Ok(View::orthographic(
                            r,
                            u,
                            f,
                            bounds,
                            Some((centre, h / span)),
                            width,
                            height,
                        ))
                    }
                    Projection::Perspective { fov_y_degrees } => {
                        if !(fov_y_degrees > 0.0 && fov_y_degrees < 180.0) {
                            return Err(RenderError::Camera("fov_y_degrees must be in (0, 180)"));
                        }
                        let half = fov_y_degrees * (std::f64::consts::PI / 360.0);
                        let focal = (h * 0.5) / libm::tan(half);
                        Ok(View::perspective(position, r, u, f, focal, w, h))
                    }
                }
            }
        }
    }

    /// An orthographic view; `place` is the centre in (right, up) coordinates and the scale,
    /// or `None` to fit `bounds`.
    fn orthographic(
        r: DVec3,
        u: DVec3,
        f: DVec3,
        bounds: Option<VoxelBox>,
        place: Option<((f64, f64), f64)>,
        width: usize,
        height: usize,
    ) -> View {
        let (w, h) = (width as f64, height as f64);
        let corners = bounds.map(box_corners);
        let extent = |axis: DVec3| -> (f64, f64) {
            match &corners {
                Some(cs) => cs
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), c| {
                        let d = c.dot(axis);
                        (lo.min(d), hi.max(d))
                    }),
                None => (0.0, 1.0),
            }
        };
        let (x_lo, x_hi) = extent(r);
        let (y_lo, y_hi) = extent(u);
        let (z_lo, _) = extent(f);
        let ((c_x, c_y), scale) = place.unwrap_or_else(|| {
            let fill = 1.0 - 2.0 * MARGIN;
            let scale = (w * fill / (x_hi - x_lo)).min(h * fill / (y_hi - y_lo));
            (((x_lo + x_hi) * 0.5, (y_lo + y_hi) * 0.5), scale)
        });
        // Depth starts one voxel in front of the model, so every depth is positive.
        let z0 = z_lo - 1.0;
        let (cx, cy) = (w * 0.5, h * 0.5);
        let base = r * c_x + u * c_y + f * z0;
        let o0 = base + r * ((0.5 - cx) / scale) - u * ((0.5 - cy) / scale);
        View {
            width,
            height,
            perspective: false,
            frame: [
                [r.x, r.y, r.z, -c_x],
                [u.x, u.y, u.z, -c_y],
                [f.x, f.y, f.z, -z0],
            ],
            scale,
            cx,
            cy,
            o0: o0.to_array(),
            ox: (r / scale).to_array(),
            oy: (-u / scale).to_array(),
            d0: f.to_array(),
            dx: [0.0; 3],
            dy: [0.0; 3],
            eye: base.to_array(),
            forward: f.to_array(),
        }
    }

    fn perspective(eye: DVec3, r: DVec3, u: DVec3, f: DVec3, focal: f64, w: f64, h: f64) -> View {
        let (cx, cy) = (w * 0.5, h * 0.5);
        let d0 = f + r * ((0.5 - cx) / focal) - u * ((0.5 - cy) / focal);
        View {
            width: w as usize,
            height: h as usize,
            perspective: true,
            frame: [
                [r.x, r.y, r.z, -eye.dot(r)],
                [u.x, u.y, u.z, -eye.dot(u)],
                [f.x, f.y, f.z, -eye.dot(f)],
            ],
            scale: focal,
            cx,
            cy,
            o0: eye.to_array(),
            ox: [0.0; 3],
            oy: [0.0; 3],
            d0: d0.to_array(),
            dx: (r / focal).to_array(),
            dy: (-u / focal).to_array(),
            eye: eye.to_array(),
            forward: f.to_array(),
        }
    }

    /// Camera-space coordinates (right, up, forward) of world point `p`.
    #[inline]
    pub(crate) fn to_camera(&self, p: [f64; 3]) -> [f64; 3] {
        let row = |m: &[f64; 4]| m[0] * p[0] + m[1] * p[1] + m[2] * p[2] + m[3];
        [
            row(&self.frame[0]),
            row(&self.frame[1]),
            row(&self.frame[2]),
        ]
    }

    /// Sample coordinates of a camera-space point (in front of the near plane, if perspective).
    #[inline]
    pub(crate) fn to_screen(&self, c: [f64; 3]) -> (f64, f64) {
        if self.perspective {
            let k = self.scale / c[2];
            (self.cx + c[0] * k, self.cy - c[1] * k)
        } else {
            (self.cx + c[0] * self.scale, self.cy - c[1] * self.scale)
        }
    }
}

/// An orthonormal (right, up, forward) frame looking along `dir` with `up` on top.
fn basis(dir: DVec3, up: DVec3) -> Result<(DVec3, DVec3, DVec3), RenderError> {
    let f = normalize(dir).ok_or(RenderError::Camera("position and target must differ"))?;
    let r = normalize(f.cross(up)).ok_or(RenderError::Camera(
        "up must not be parallel to the view direction",
    ))?;
    Ok((r, r.cross(f), f))
}

/// `v` scaled to length 1, unless it is zero or not finite.
fn normalize(v: DVec3) -> Option<DVec3> {
    let len2 = v.x * v.x + v.y * v.y + v.z * v.z;
    let ok = len2.is_finite() && len2 > 1e-18;
    ok.then(|| v / len2.sqrt())
}

/// The eight corners of the unit cubes of a voxel box.
fn box_corners(b: VoxelBox) -> [DVec3; 8] {
    let lo = b.min.as_dvec3();
    let hi = (b.max + 1).as_dvec3();
    std::array::from_fn(|i| {
        DVec3::new(
            if i & 1 == 0 { lo.x } else { hi.x },
            if i & 2 == 0 { lo.y } else { hi.y },
            if i & 4 == 0 { lo.z } else { hi.z },
        )
    })
}
