// The seed's example: a 5×5×5 red cube at the origin.
for (var x = 0; x < 5; x++) {
    for (var y = 0; y < 5; y++) {
        for (var z = 0; z < 5; z++) {
            goxel.addVoxel(x, y, z, [255, 0, 0, 255]);
        }
    }
}
console.log("Created 5x5x5 red cube");
