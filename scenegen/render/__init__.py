"""The only GL code: the backend's choice (EGL, OSMesa), the scene renderer and its passes (colour, ids and
depth, amodal), shadows and MSAA, BOP's silhouette pass; and the images around it (backdrops, sensor effects)."""
