//! Rasterising solids: which voxels of a box a [`Shape`] covers.
//!
//! A voxel `p` is the unit cube `[p, p+1)`; it belongs to the solid when its centre does. The
//! solid is inscribed in the box: with size `s = max - min + 1` and centre `c = (min + max + 1) / 2`,
//! the normalised offset of a voxel centre is `d = (p + 0.5 - c) / (s / 2)`, and
//! - sphere: `dx² + dy² + dz² ≤ 1`;
//! - cylinder (along z): `dx² + dy² ≤ 1`;
//! - cone (base at the bottom, apex at the top): `dx² + dy² ≤ k²` with `k = 1 - t`, where
//!   `t = (p.z + 0.5 - min.z) / s.z` is the height fraction of the voxel centre;
//! - pyramid: `|dx| ≤ k` and `|dy| ≤ k`;
//! - cube: every voxel.
//!
//! Rows are rasterised as x-spans, so a shape costs one square root per row, not per voxel.

use glam::{DVec3, IVec3};

use crate::coords::VoxelBox;
use crate::edit::Shape;

const EPS: f64 = 1e-9;

/// The inclusive x-span of row `(y, z)` of `shape` inscribed in `region`, if the row is not empty.
pub fn row_span(shape: Shape, region: &VoxelBox, y: i32, z: i32) -> Option<(i32, i32)> {
    if shape == Shape::Cube {
        return Some((region.min.x, region.max.x));
    }
    let size = (region.max - region.min + IVec3::ONE).as_dvec3();
    let radius = size * 0.5;
    let centre = region.min.as_dvec3() + radius;
    let dy = (y as f64 + 0.5 - centre.y) / radius.y;
    let dz = (z as f64 + 0.5 - centre.z) / radius.z;
    let k = 1.0 - (z as f64 + 0.5 - region.min.z as f64) / size.z;
    // Half-width of the row in normalised x.
    let w = match shape {
        Shape::Cube => 1.0,
        Shape::Sphere => {
            let rem = 1.0 - dy * dy - dz * dz;
            if rem < -EPS {
                return None;
            }
            rem.max(0.0).sqrt()
        }
        Shape::Cylinder => {
            let rem = 1.0 - dy * dy;
            if rem < -EPS {
                return None;
            }
            rem.max(0.0).sqrt()
        }
        Shape::Cone => {
            let rem = k * k - dy * dy;
            if rem < -EPS {
                return None;
            }
            rem.max(0.0).sqrt()
        }
        Shape::Pyramid => {
            if dy.abs() > k + EPS {
                return None;
            }
            k
        }
    };
    let half = w * radius.x;
    let lo = (centre.x - half - 0.5 - EPS).ceil() as i32;
    let hi = (centre.x + half - 0.5 + EPS).floor() as i32;
    let lo = lo.max(region.min.x);
    let hi = hi.min(region.max.x);
    (lo <= hi).then_some((lo, hi))
}

/// Whether `shape` inscribed in `region` covers voxel `p` (a slow reference for tests and reads).
pub fn contains(shape: Shape, region: &VoxelBox, p: IVec3) -> bool {
    region.contains(p)
        && row_span(shape, region, p.y, p.z).is_some_and(|(lo, hi)| (lo..=hi).contains(&p.x))
}

/// The number of voxels of `shape` inscribed in `region`.
pub fn volume(shape: Shape, region: &VoxelBox) -> u64 {
    let mut n = 0u64;
    for z in region.min.z..=region.max.z {
        for y in region.min.y..=region.max.y {
            if let Some((lo, hi)) = row_span(shape, region, y, z) {
                n += (hi - lo + 1) as u64;
            }
        }
    }
    n
}

/// Centre of the box, in voxel-corner coordinates (for callers that place shapes by centre).
pub fn centre(region: &VoxelBox) -> DVec3 {
    (region.min.as_dvec3() + region.max.as_dvec3() + DVec3::ONE) * 0.5
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(min: i32, max: i32) -> VoxelBox {
        VoxelBox {
            min: IVec3::splat(min),
            max: IVec3::splat(max),
        }
    }

    #[test]
    fn hand_computed_volumes() {
        // 3³ sphere: all but the 8 corners (corner offset (2/3)²·3 = 1.33 > 1, edge 0.89 ≤ 1).
        assert_eq!(volume(Shape::Sphere, &b(0, 2)), 19);
        // 2³ sphere: every centre is at (1/2)²·3 = 0.75 ≤ 1.
        assert_eq!(volume(Shape::Sphere, &b(0, 1)), 8);
        // 1³ of anything is the voxel itself.
        for s in [
            Shape::Sphere,
            Shape::Cylinder,
            Shape::Cone,
            Shape::Pyramid,
            Shape::Cube,
        ] {
            assert_eq!(volume(s, &b(5, 5)), 1, "{s:?}");
        }
        // 3×3×3 cylinder: 3 layers of a 3×3 disc without corners (offsets (2/3)²·2 = 0.89 ≤ 1).
        assert_eq!(volume(Shape::Cylinder, &b(0, 2)), 27);
        // 5×5 disc: corners at (4/5)²·2 = 1.28 out, (4/5)²+(2/5)² = 0.8 in → 25 - 4 = 21 per layer.
        let r = VoxelBox {
            min: IVec3::ZERO,
            max: IVec3::new(4, 4, 0),
        };
        assert_eq!(volume(Shape::Cylinder, &r), 21);
        // 3×3×3 pyramid: k = 5/6, 1/2, 1/6 at z = 0, 1, 2; |d| of the outer ring is 2/3.
        // z=0: 3×3 = 9; z=1: only the centre (|d| 2/3 > 1/2) = 1; z=2: centre = 1.
        assert_eq!(volume(Shape::Pyramid, &b(0, 2)), 11);
        // Cone 3³: z=0: k=5/6, disc of radius 5/6: edges (2/3)² ≤ 25/36 yes, corners 8/9 > 25/36 no → 5;
        // z=1: k=1/2, only centre → 1; z=2: centre → 1.
        assert_eq!(volume(Shape::Cone, &b(0, 2)), 7);
        assert_eq!(volume(Shape::Cube, &b(0, 3)), 64);
    }

    #[test]
    fn sphere_is_symmetric() {
        let r = b(-4, 4);
        for z in -4..=4 {
            for y in -4..=4 {
                for x in -4..=4 {
                    let p = IVec3::new(x, y, z);
                    assert_eq!(
                        contains(Shape::Sphere, &r, p),
                        contains(Shape::Sphere, &r, -p)
                    );
                    assert_eq!(
                        contains(Shape::Sphere, &r, p),
                        contains(Shape::Sphere, &r, IVec3::new(z, x, y))
                    );
                }
            }
        }
    }
}
