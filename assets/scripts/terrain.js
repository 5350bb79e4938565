// A small seeded heightmap: columns of earth topped with grass. Math.random is seeded, so the
// same seed always builds the same terrain.
const size = 32;
let columns = 0;
for (let x = 0; x < size; x++) {
    for (let y = 0; y < size; y++) {
        const h = 1 + Math.floor(3 + 2 * Math.sin(x / 5) + 2 * Math.cos(y / 7) + Math.random() * 2);
        goxel.fillBox(x, y, 0, x, y, h - 1, "#8b5a2b");
        goxel.addVoxel(x, y, h, [60, 170, 60, 255]);
        columns++;
    }
}
console.log(`terrain: ${columns} columns`);
({ columns: columns, voxels: goxel.getVoxelCount() })
