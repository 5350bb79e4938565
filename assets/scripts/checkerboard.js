// Paints every other voxel of a floor: reads back what it wrote and recolours with paintVoxels.
goxel.fillBox(0, 0, 0, 15, 15, 0, [200, 200, 200, 255]);
const dark = [];
for (let x = 0; x < 16; x++) {
    for (let y = 0; y < 16; y++) {
        if ((x + y) % 2 === 0) dark.push([x, y, 0]);
    }
}
const painted = goxel.paintVoxels(dark, [30, 30, 30, 255]);
if (goxel.getVoxel(0, 0, 0)[0] !== 30) throw new Error("paint not visible to the script");
painted
