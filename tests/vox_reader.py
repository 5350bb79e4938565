"""An independent reader for voxeld's .vox files: parses one with midvoxio and prints what it
sees as one JSON object, so tests/formats_vox.rs can compare it with the world it wrote.

It uses midvoxio only to split the file into chunks and decode them (models, palette, scene
nodes, layers); positions and colours follow MagicaVoxel's format description, not voxeld's
code: file colour index c is RGBA entry c - 1, and a model of size s under a transform
translated by t puts voxel v at t + v - s // 2 (voxeld writes no rotations).

Usage: python vox_reader.py FILE.vox
"""

import contextlib
import json
import sys

from midvoxio.parser import Parser


def main(path):
    # midvoxio prints notes of its own; keep stdout for the JSON.
    with contextlib.redirect_stdout(sys.stderr):
        vox = Parser(path).parse()

    models = len(vox.voxels)
    sizes = [tuple(int(n) for n in s) for s in vox.sizes[:models]]
    palette = vox.palettes[0]

    shapes = {s.node_id: s for s in vox.nshps}
    layers = [
        {"name": layer.dic.get("_name"), "hidden": layer.dic.get("_hidden") == "1"}
        for layer in vox.layers
    ]

    # Each shape's transform: the nTRN whose child it is (voxeld writes one level of them).
    placed = []
    for trn in vox.ntrns:
        shape = shapes.get(trn.child_node_id)
        if shape is None:
            continue
        t = [int(v) for v in trn.frames[0].get("_t", "0 0 0").split()]
        for m in shape.models:
            placed.append((m.id, t, trn.layer_id))

    voxels = []
    model_info = []
    for model_id, t, layer in placed:
        size = sizes[model_id]
        model_info.append(
            {"model": model_id, "size": size, "translation": t, "layer": layer,
             "voxels": len(vox.voxels[model_id])}
        )
        for x, y, z, c in vox.voxels[model_id]:
            if not (0 < c <= 255):
                raise SystemExit(f"colour index {c} out of range")
            if not (x < size[0] and y < size[1] and z < size[2]):
                raise SystemExit(f"voxel {(x, y, z)} outside model size {size}")
            r, g, b, a = palette[c - 1]
            voxels.append(
                [layer, t[0] + x - size[0] // 2, t[1] + y - size[1] // 2,
                 t[2] + z - size[2] // 2, r, g, b, a]
            )

    json.dump(
        {"model_count": models, "models": model_info, "layers": layers, "voxels": voxels},
        sys.stdout,
    )


if __name__ == "__main__":
    main(sys.argv[1])
