//! The world hash: one stable fingerprint of the world's content.
//!
//! Specification (format version 1). The hash is BLAKE3 over this byte stream:
//! 1. the 16 bytes `b"voxeld-world-v1\n"`;
//! 2. for each layer, in ascending id order: `b'L'`, id (u32 LE), visible (u8: 0 or 1),
//!    order (i32 LE), name length (u32 LE) and the UTF-8 name bytes, chunk count (u64 LE);
//!    then for each non-empty chunk of that layer, sorted by chunk position z, then y, then x:
//!    the chunk position x, y, z (3 × i32 LE) and the chunk digest (32 bytes).
//!
//! A chunk's digest is BLAKE3 of its 16³ voxels as RGBA bytes in x-fastest order (16 384
//! bytes), with every alpha-0 voxel written as `00 00 00 00`. Chunks are 16³ voxels aligned to
//! multiples of 16 (chunk position = voxel position >> 4, arithmetic shift). Chunks with no
//! voxel do not exist, so the hash depends on content only: not on edit history, storage
//! representation, worker count or machine. The active layer and undo history are not content.

use crate::snapshot::WorldSnapshot;

/// Computes the world hash of a snapshot.
pub fn world_hash(snapshot: &WorldSnapshot) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"voxeld-world-v1\n");
    for layer in snapshot.layers() {
        h.update(b"L");
        h.update(&layer.id.0.to_le_bytes());
        h.update(&[layer.visible as u8]);
        h.update(&layer.order.to_le_bytes());
        h.update(&(layer.name.len() as u32).to_le_bytes());
        h.update(layer.name.as_bytes());
        h.update(&layer.chunk_count().to_le_bytes());
        for (pos, data) in layer.chunks_sorted() {
            h.update(&pos.x.to_le_bytes());
            h.update(&pos.y.to_le_bytes());
            h.update(&pos.z.to_le_bytes());
            h.update(&data.digest());
        }
    }
    *h.finalize().as_bytes()
}

/// Lowercase hex of a hash.
pub fn to_hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}
