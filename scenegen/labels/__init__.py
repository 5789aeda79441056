"""Label math, numpy only and testable without GL: masks, boxes, RLE, normals, per-object annotations of a
rendered frame, exact optical flow, its occlusion and point tracks."""
