// Three spheres and a carrot, then a flood fill that recolours the bottom ball.
goxel.fillSphere(0, 0, 6, 6, [240, 240, 255, 255]);
goxel.fillSphere(0, 0, 16, 4, [240, 240, 255, 255]);
goxel.fillSphere(0, 0, 23, 3, [240, 240, 255, 255]);
goxel.addVoxel(0, -4, 23, "#ff8800");
const box = goxel.getBoundingBox();
console.info("bounds", JSON.stringify(box));
goxel.getVoxel(0, -4, 23)
