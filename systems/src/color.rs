//! RGBA8 colours, the value every voxel holds.
//!
//! Alpha 0 means "no voxel": every colour with alpha 0 is the same empty colour, so storage and
//! hashing only ever see one canonical empty value ([`Color::EMPTY`]).

/// An RGBA8 voxel colour. Alpha 0 is empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Color(pub [u8; 4]);

impl Color {
    /// The empty voxel.
    pub const EMPTY: Color = Color([0, 0, 0, 0]);

    /// A colour from its four channels; any alpha-0 input becomes [`Color::EMPTY`].
    #[inline]
    pub const fn rgba(r: u8, g: u8, b: u8, a: u8) -> Color {
        if a == 0 {
            Color::EMPTY
        } else {
            Color([r, g, b, a])
        }
    }

    /// An opaque colour.
    #[inline]
    pub const fn rgb(r: u8, g: u8, b: u8) -> Color {
        Color([r, g, b, 255])
    }

    /// The canonical form of this colour (alpha 0 folds to [`Color::EMPTY`]).
    #[inline]
    pub const fn canonical(self) -> Color {
        if self.0[3] == 0 { Color::EMPTY } else { self }
    }

    /// Whether this is the empty voxel.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0[3] == 0
    }

    /// The channels as `[r, g, b, a]`.
    #[inline]
    pub const fn to_array(self) -> [u8; 4] {
        self.0
    }
}

impl From<[u8; 4]> for Color {
    fn from(c: [u8; 4]) -> Color {
        Color(c).canonical()
    }
}
