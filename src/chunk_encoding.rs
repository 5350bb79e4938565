//! The compact chunk encoding of `goxel.get_chunks`: a palette and run-length-coded palette
//! indices, so a uniform chunk costs a few bytes and a typical one a few hundred, and a client
//! decodes it with a dozen lines of code. `docs/methods.md` ("Chunk encoding") gives the bytes.
//!
//! Layout (version 1), all integers little-endian:
//! - `u8` version = 1
//! - `u16` palette length `P` (1..=4096), then `P` colours of 4 bytes `r g b a` (alpha 0: empty)
//! - runs until the 4096 voxels are covered: `u16` run length (1..=4096), then the palette
//!   index as `u8` when `P <= 256`, else `u16`
//!
//! Voxels are in x-fastest order: voxel `(x, y, z)` of the chunk (each 0..16) is number
//! `x + 16 y + 256 z`; its world position is `chunk * 16 + (x, y, z)`.
//!
//! ```
//! use systems::{ChunkData, Color};
//! let chunk = ChunkData::uniform(Color::rgb(1, 2, 3));
//! let bytes = voxeld::chunk_encoding::encode(&chunk);
//! assert_eq!(bytes, [1, 1, 0, 1, 2, 3, 255, 0, 16, 0]);
//! assert_eq!(voxeld::chunk_encoding::decode(&bytes).unwrap()[4095], [1, 2, 3, 255]);
//! ```

use rustc_hash::FxHashMap;
use systems::{CHUNK_VOLUME, ChunkData};

/// The version byte this module writes.
pub const VERSION: u8 = 1;

/// Encodes one chunk (see the module docs).
pub fn encode(chunk: &ChunkData) -> Vec<u8> {
    let mut dense = [systems::Color::EMPTY; CHUNK_VOLUME];
    chunk.decode_into(&mut dense);
    let mut palette: Vec<[u8; 4]> = Vec::new();
    let mut lookup: FxHashMap<[u8; 4], u16> = FxHashMap::default();
    let mut runs: Vec<(u16, u16)> = Vec::new();
    for c in dense.iter() {
        let rgba = c.to_array();
        let index = *lookup.entry(rgba).or_insert_with(|| {
            palette.push(rgba);
            (palette.len() - 1) as u16
        });
        match runs.last_mut() {
            Some((len, i)) if *i == index => *len += 1,
            _ => runs.push((1, index)),
        }
    }
    let wide = palette.len() > 256;
    let mut out = Vec::with_capacity(3 + palette.len() * 4 + runs.len() * 4);
    out.push(VERSION);
    out.extend_from_slice(&(palette.len() as u16).to_le_bytes());
    for rgba in &palette {
        out.extend_from_slice(rgba);
    }
    for (len, index) in runs {
        out.extend_from_slice(&len.to_le_bytes());
        if wide {
            out.extend_from_slice(&index.to_le_bytes());
        } else {
            out.push(index as u8);
        }
    }
    out
}

/// Decodes [`encode`]'s bytes into the 4096 voxels of a chunk, x fastest; the error says what
/// is wrong with the bytes.
pub fn decode(bytes: &[u8]) -> Result<Vec<[u8; 4]>, String> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8], String> {
        let s = bytes
            .get(at..at + n)
            .ok_or_else(|| format!("truncated at byte {at}"))?;
        at += n;
        Ok(s)
    };
    let version = take(1)?[0];
    if version != VERSION {
        return Err(format!("unknown version {version}"));
    }
    let p = u16::from_le_bytes(take(2)?.try_into().unwrap_or_default()) as usize;
    if p == 0 || p > CHUNK_VOLUME {
        return Err(format!("palette length {p} is not in 1..=4096"));
    }
    let mut palette = Vec::with_capacity(p);
    for _ in 0..p {
        let c = take(4)?;
        palette.push([c[0], c[1], c[2], c[3]]);
    }
    let mut voxels = Vec::with_capacity(CHUNK_VOLUME);
    while voxels.len() < CHUNK_VOLUME {
        let len = u16::from_le_bytes(take(2)?.try_into().unwrap_or_default()) as usize;
        let index = if p > 256 {
            u16::from_le_bytes(take(2)?.try_into().unwrap_or_default()) as usize
        } else {
            take(1)?[0] as usize
        };
        let color = *palette
            .get(index)
            .ok_or_else(|| format!("palette index {index} out of {p}"))?;
        if len == 0 || voxels.len() + len > CHUNK_VOLUME {
            return Err(format!("run of {len} voxels does not fit the chunk"));
        }
        voxels.extend(std::iter::repeat_n(color, len));
    }
    if at != bytes.len() {
        return Err(format!("{} bytes after the last run", bytes.len() - at));
    }
    Ok(voxels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use systems::Color;

    #[test]
    fn a_many_coloured_chunk_round_trips_with_wide_indices() {
        let mut dense = [Color::EMPTY; CHUNK_VOLUME];
        for (i, c) in dense.iter_mut().enumerate() {
            if i % 3 != 0 {
                *c = Color::rgb((i % 251) as u8, (i / 251) as u8, 7);
            }
        }
        let chunk = ChunkData::from_dense(&dense);
        let bytes = encode(&chunk);
        let decoded = decode(&bytes).unwrap();
        let want: Vec<[u8; 4]> = dense.iter().map(|c| c.to_array()).collect();
        assert_eq!(decoded, want);
        assert!(u16::from_le_bytes([bytes[1], bytes[2]]) > 256);
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[2, 1, 0]).is_err());
        assert!(decode(&[1, 1, 0, 1, 2, 3, 4, 0, 17, 0]).is_err());
        assert!(decode(&[1, 1, 0, 1, 2, 3, 4, 0, 16, 1]).is_err());
        assert!(decode(&[1, 1, 0, 1, 2, 3, 4, 0, 16, 0, 9]).is_err());
    }
}
