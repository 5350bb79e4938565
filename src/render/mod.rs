//! Pictures of the world: a CPU renderer that turns a [`WorldSnapshot`] into an RGBA image and a
//! PNG file, with no GPU, the same bytes on every run and every machine.
//!
//! ```
//! use voxeld::render::{RenderRequest, encode_png, render};
//! let world = systems::VoxelWorld::new(systems::WorldSettings::default());
//! let image = render(&world.snapshot(), &RenderRequest::new(64, 48)).unwrap();
//! assert_eq!(image.pixel(0, 0), [240, 240, 240, 255]);
//! assert!(encode_png(&image).starts_with(b"\x89PNG"));
//! ```
//!
//! # Conventions
//!
//! A voxel at integer position `p` is the unit cube `[p, p + 1)`. z is up (Goxel's convention).
//! The presets ([`Preset`]) are orthographic and look at the model from outside:
//!
//! | preset | looks along | from | screen right | screen up |
//! |---|---|---|---|---|
//! | `front` | +y | −y | +x | +z |
//! | `back` | −y | +y | −x | +z |
//! | `left` | +x | −x | −y | +z |
//! | `right` | −x | +x | +y | +z |
//! | `top` | −z | +z | +x | +y |
//! | `bottom` | +z | −z | +x | −y |
//! | `isometric` | (−1, 1, −1) | (1, −1, 1) | (1, 1, 0) | z tilted toward the viewer |
//!
//! The isometric view sees the top, the front (−y) and the right (+x) faces, so the −x,−y corner
//! of a model is on the left and the +x,+y corner on the right, as in Goxel's isometric render of
//! the sample model. Presets, and orthographic explicit cameras without a height, fit the box of
//! the visible voxels into the image with a margin of [`MARGIN`] of the image on each side; an
//! empty world renders the background alone.
//!
//! # Look
//!
//! Voxels are drawn flat in their colour, times a constant light per face direction (top
//! brightest, bottom darkest, the four sides in between, each its own), times ambient occlusion:
//! each face corner is darkened by the three voxels touching it in the layer in front of the face
//! (two sides and the corner between them), and the four corner values are interpolated across the
//! face, as voxel editors do. An optional outline darkens the pixels on the near side of every
//! depth or face-plane break, one output pixel wide. Anti-aliasing is 2×2 supersampling with a box
//! filter. Semi-transparent voxels are drawn opaque, in their RGB colour: blending would need the
//! faces sorted by depth, and an editor's viewport is mostly read for shape, not glass.
//! Only visible layers are drawn; where layers overlap the highest-order one wins, as in
//! [`WorldSnapshot::merged_voxel`].
//!
//! # Method
//!
//! The renderer rasterises exposed faces into a depth buffer ([`faces`] finds them chunk by
//! chunk, skipping empty space and the inside of uniform chunks; [`raster`] fills the buffers),
//! then shades each pixel once from the face it shows ([`shade`]). Faces are found once; large
//! images are rasterised in bands of rows so memory stays bounded. Ray casting through chunks
//! was the other candidate; rasterising costs one setup per exposed face instead of one walk per
//! pixel, which suits views where voxels cover many pixels.
//!
//! # Determinism
//!
//! Everything in the pixel path is `+ − × ÷`, `sqrt`, `floor` and integer arithmetic on IEEE
//! `f64` and `i64`, all exact or correctly rounded, with no fused multiply-add; the one
//! transcendental function (the tangent of a perspective camera's field of view) comes from
//! `libm`, which is pure Rust. Faces are found and drawn in a fixed order (chunks sorted z, y, x)
//! and the depth test keeps the first of equal depths, so no hash order or thread can change a
//! pixel. PNG encoding uses fixed settings.

mod camera;
mod faces;
mod raster;
mod shade;
mod volume;

use glam::DVec3;
use systems::WorldSnapshot;
use thiserror::Error;

/// Largest width or height of an image, in pixels.
pub const MAX_SIZE: u32 = 8192;
/// The background when a request names none: Goxel's light grey.
pub const DEFAULT_BACKGROUND: [u8; 4] = [240, 240, 240, 255];
/// The empty border a fitted camera leaves on each side, as a fraction of the image size.
pub const MARGIN: f64 = 0.06;

/// What to render and how.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderRequest {
    /// Image width in pixels, 1..=[`MAX_SIZE`].
    pub width: u32,
    /// Image height in pixels, 1..=[`MAX_SIZE`].
    pub height: u32,
    /// Where the picture is taken from.
    pub camera: Camera,
    /// RGBA of every pixel the model does not cover; alpha 0 gives a transparent PNG.
    pub background: [u8; 4],
    /// Whether silhouettes and creases get a thin dark line.
    pub outline: bool,
    /// Whether to smooth edges with 2×2 supersampling (four times the work).
    pub antialias: bool,
}

impl RenderRequest {
    /// An isometric picture of the whole model, on Goxel's default background, anti-aliased
    /// and outlined.
    pub fn new(width: u32, height: u32) -> RenderRequest {
        RenderRequest {
            width,
            height,
            camera: Camera::Preset(Preset::Isometric),
            background: DEFAULT_BACKGROUND,
            outline: true,
            antialias: true,
        }
    }
}

/// A camera: a named view fitted to the model, or one placed by hand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Camera {
    /// A named orthographic view that fits the visible model.
    Preset(Preset),
    /// A camera at `position` looking at `target`.
    Explicit {
        /// Where the camera is (for orthographic cameras only the direction to `target` counts).
        position: DVec3,
        /// The point the camera looks at.
        target: DVec3,
        /// Which way is up on screen (any vector not parallel to the view direction).
        up: DVec3,
        /// How space maps to the image.
        projection: Projection,
    },
}

/// How an explicit camera maps space to the image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Projection {
    /// Parallel rays along the view direction. The whole world along the view line is seen
    /// (there is no near plane).
    Orthographic {
        /// World units the image height spans, centred on the target; `None` fits the visible
        /// model instead (centred on it).
        height: Option<f64>,
    },
    /// Rays from the camera position; voxels closer than [`camera::NEAR`] are clipped.
    Perspective {
        /// Vertical field of view in degrees, in (0, 180).
        fov_y_degrees: f64,
    },
}

/// The named views of `goxel.render_scene` (see the module docs for their directions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    /// Looks along +y.
    Front,
    /// Looks along −y.
    Back,
    /// Looks along +x.
    Left,
    /// Looks along −x.
    Right,
    /// Looks down, along −z.
    Top,
    /// Looks up, along +z.
    Bottom,
    /// Looks along (−1, 1, −1): top, front and right faces.
    Isometric,
}

impl Preset {
    /// Every preset, in the protocol's order.
    pub const ALL: [Preset; 7] = [
        Preset::Front,
        Preset::Back,
        Preset::Left,
        Preset::Right,
        Preset::Top,
        Preset::Bottom,
        Preset::Isometric,
    ];

    /// The preset called `name`, ignoring ASCII case.
    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// The protocol name of the preset.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Front => "front",
            Preset::Back => "back",
            Preset::Left => "left",
            Preset::Right => "right",
            Preset::Top => "top",
            Preset::Bottom => "bottom",
            Preset::Isometric => "isometric",
        }
    }

    /// The direction the preset looks along and its screen-up hint (not normalised).
    pub fn direction_and_up(self) -> (DVec3, DVec3) {
        match self {
            Preset::Front => (DVec3::Y, DVec3::Z),
            Preset::Back => (DVec3::NEG_Y, DVec3::Z),
            Preset::Left => (DVec3::X, DVec3::Z),
            Preset::Right => (DVec3::NEG_X, DVec3::Z),
            Preset::Top => (DVec3::NEG_Z, DVec3::Y),
            Preset::Bottom => (DVec3::Z, DVec3::NEG_Y),
            Preset::Isometric => (DVec3::new(-1.0, 1.0, -1.0), DVec3::Z),
        }
    }
}

/// An RGBA8 picture, rows top to bottom, pixels left to right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 4` bytes: R, G, B, A per pixel.
    pub pixels: Vec<u8>,
}

impl Image {
    /// The RGBA of pixel (`x`, `y`), (0, 0) being the top-left corner.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = (y as usize * self.width as usize + x as usize) * 4;
        [
            self.pixels[i],
            self.pixels[i + 1],
            self.pixels[i + 2],
            self.pixels[i + 3],
        ]
    }
}

/// Why a request cannot be rendered.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RenderError {
    /// The width is 0 or above [`MAX_SIZE`].
    #[error("width {0} is out of range (1..=8192)")]
    Width(u32),
    /// The height is 0 or above [`MAX_SIZE`].
    #[error("height {0} is out of range (1..=8192)")]
    Height(u32),
    /// The explicit camera cannot form a view.
    #[error("invalid camera: {0}")]
    Camera(&'static str),
}

/// Renders the visible layers of `world` as `req` asks.
pub fn render(world: &WorldSnapshot, req: &RenderRequest) -> Result<Image, RenderError> {
    if req.width == 0 || req.width > MAX_SIZE {
        return Err(RenderError::Width(req.width));
    }
    if req.height == 0 || req.height > MAX_SIZE {
        return Err(RenderError::Height(req.height));
    }
    render_in_bands(world, req, None)
}

/// [`render`], with bands of `band_samples` samples instead of the default when given.
fn render_in_bands(
    world: &WorldSnapshot,
    req: &RenderRequest,
    band_samples: Option<usize>,
) -> Result<Image, RenderError> {
    let volume = volume::Volume::new(world);
    let supersample = if req.antialias { 2 } else { 1 };
    let view = camera::View::new(
        &req.camera,
        volume.bounds(),
        req.width as usize * supersample,
        req.height as usize * supersample,
    )?;
    let pixels = match band_samples {
        Some(n) => shade::draw_in_bands(&volume, &view, req, supersample, n),
        None => shade::draw(&volume, &view, req, supersample),
    };
    Ok(Image {
        width: req.width,
        height: req.height,
        pixels,
    })
}

/// Encodes `image` as an 8-bit RGBA PNG with fixed settings (fast deflate, adaptive filters),
/// so the same image always gives the same bytes.
pub fn encode_png(image: &Image) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, image.width, image.height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(png::Filter::Adaptive);
    // Writing to a Vec cannot fail, and the header matches the buffer by construction.
    let mut writer = encoder.write_header().expect("png header to memory");
    writer
        .write_image_data(&image.pixels)
        .expect("png data to memory");
    writer.finish().expect("png end to memory");
    out
}

/// [`render`] then [`encode_png`].
pub fn render_png(world: &WorldSnapshot, req: &RenderRequest) -> Result<Vec<u8>, RenderError> {
    render(world, req).map(|image| encode_png(&image))
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::IVec3;
    use systems::{Color, CommandBuffer, Edit, Source, VoxelBox, VoxelWorld, WorldSettings};

    fn model() -> std::sync::Arc<WorldSnapshot> {
        let mut w = VoxelWorld::new(WorldSettings::default());
        let fill = |min: [i32; 3], max: [i32; 3], c| Edit::FillBox {
            region: VoxelBox::from_corners(IVec3::from_array(min), IVec3::from_array(max)),
            color: c,
        };
        w.apply(CommandBuffer {
            edits: vec![
                fill([-20, -20, 0], [19, 19, 0], Color::rgb(40, 180, 60)),
                fill([-3, -5, 1], [6, 2, 12], Color::rgb(220, 30, 30)),
                fill([8, 8, 1], [9, 9, 20], Color::rgb(30, 60, 230)),
            ],
            ..CommandBuffer::new(Source::Rpc)
        })
        .result
        .unwrap();
        w.snapshot()
    }

    #[test]
    fn bands_of_any_height_give_the_same_pixels() {
        let world = model();
        for antialias in [false, true] {
            for camera in [
                Camera::Preset(Preset::Isometric),
                Camera::Explicit {
                    position: DVec3::new(30.0, -40.0, 25.0),
                    target: DVec3::new(0.0, 0.0, 5.0),
                    up: DVec3::Z,
                    projection: Projection::Perspective {
                        fov_y_degrees: 50.0,
                    },
                },
            ] {
                let req = RenderRequest {
                    camera,
                    antialias,
                    ..RenderRequest::new(97, 83)
                };
                let whole = render(&world, &req).unwrap();
                for band in [1, 7 * 97, 64 * 194] {
                    let banded = render_in_bands(&world, &req, Some(band)).unwrap();
                    assert!(whole == banded, "band of {band} samples, aa {antialias}");
                }
            }
        }
    }

    #[test]
    fn preset_names_ignore_case() {
        for p in Preset::ALL {
            assert_eq!(Preset::from_name(p.name()), Some(p));
            assert_eq!(Preset::from_name(&p.name().to_uppercase()), Some(p));
        }
        assert_eq!(Preset::from_name("Isometric"), Some(Preset::Isometric));
        assert_eq!(Preset::from_name("diagonal"), None);
        assert_eq!(Preset::from_name(""), None);
    }
}
