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

    /// This colour drawn over `under` with straight alpha (Porter-Duff "over"), in integers so
    /// every machine gets the same bytes. An opaque colour, or an empty `under`, is itself.
    pub fn over(self, under: Color) -> Color {
        let a = self.0[3] as u32;
        if a == 255 || under.is_empty() {
            return self;
        }
        if a == 0 {
            return under;
        }
        let b = under.0[3] as u32;
        // Output alpha, scaled by 255: a + b(1 - a).
        let out_a = a * 255 + b * (255 - a);
        let mut rgb = [0u8; 3];
        for (i, c) in rgb.iter_mut().enumerate() {
            let num = self.0[i] as u32 * a * 255 + under.0[i] as u32 * b * (255 - a);
            *c = ((num + out_a / 2) / out_a) as u8;
        }
        Color([rgb[0], rgb[1], rgb[2], ((out_a + 127) / 255) as u8])
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

#[cfg(test)]
mod tests {
    use super::Color;

    #[test]
    fn over_blends_by_alpha() {
        let red = Color([255, 0, 0, 255]);
        let half_blue = Color([0, 0, 255, 128]);
        assert_eq!(red.over(half_blue), red);
        assert_eq!(half_blue.over(Color::EMPTY), half_blue);
        assert_eq!(half_blue.over(red), Color([127, 0, 128, 255]));
        let c = Color([0, 0, 255, 128]).over(Color([255, 0, 0, 128]));
        assert_eq!(c.0[3], 192);
        assert!(c.0[2] > c.0[0], "the upper colour dominates: {c:?}");
    }
}
