// Decoding `goxel.get_chunks` replies (encoding "rle1", laid out in docs/methods.md, "Chunk
// encoding"): base64 of a version byte, a palette of RGBA colours and runs of palette indices
// over the chunk's 4096 voxels, x fastest.

const VOXELS = 4096;

function base64Bytes(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

/** One entry of a `get_chunks` reply → `{layer, pos, rgba}` (`rgba` null for an empty chunk). */
export function decodeChunk(entry) {
  const bytes = base64Bytes(entry.data);
  const view = new DataView(bytes.buffer);
  if (bytes[0] !== 1) throw new Error(`chunk encoding version ${bytes[0]} is not 1`);
  const paletteLength = view.getUint16(1, true);
  const palette = bytes.subarray(3, 3 + paletteLength * 4);
  const wide = paletteLength > 256;
  const rgba = new Uint8Array(VOXELS * 4);
  let at = 3 + paletteLength * 4;
  let voxel = 0;
  let solid = false;
  while (voxel < VOXELS) {
    const run = view.getUint16(at, true);
    const index = wide ? view.getUint16(at + 2, true) : bytes[at + 2];
    at += wide ? 4 : 3;
    if (run === 0 || voxel + run > VOXELS || index >= paletteLength) throw new Error('malformed chunk data');
    const colour = palette.subarray(index * 4, index * 4 + 4);
    if (colour[3] !== 0) {
      solid = true;
      for (let i = voxel; i < voxel + run; i++) rgba.set(colour, i * 4);
    }
    voxel += run;
  }
  return { layer: entry.layer, pos: entry.chunk, rgba: solid ? rgba : null };
}
