"""Label math, numpy only: masks, boxes, RLE, geometry and projection, normals, per-object annotations."""
